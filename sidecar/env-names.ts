/** The sidecar's env names and defaults live in the contract (sidecar/contract/names.ts); re-exported for the sidecar's modules. */
export { AWS_IDENTITY_ENV, SIDECAR_DEFAULTS, SIDECAR_ENV } from './contract/names.js';
