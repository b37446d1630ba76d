#!/usr/bin/env node
/** vault-irsa-webhook: the admission webhook server (docs/configuration.md). Configuration by env only. */
import { runMain } from '../webhook/main.js';

await runMain();
