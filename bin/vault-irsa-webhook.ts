#!/usr/bin/env node
/** vault-irsa-webhook: the admission webhook server (CONTRACT.md §5). Configuration by env only. */
import { runMain } from '../webhook/main.js';

await runMain();
