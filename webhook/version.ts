/** The release version; the default sidecar image tag. A unit test keeps it equal to package.json's. */
export const VERSION = '0.1.0';
export const DEFAULT_SIDECAR_IMAGE = `ghcr.io/vault-irsa/sidecar:${VERSION}`;
