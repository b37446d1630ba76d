#!/usr/bin/env node
/**
 * vault-irsa-sidecar            run the sidecar (configuration from env, docs/configuration.md)
 * vault-irsa-sidecar wait       classic-mode postStart hook: block until /readyz answers 200
 * vault-irsa-sidecar status     ask the running sidecar what it holds (table, or --json); never a value
 * vault-irsa-sidecar --version  print the version
 */
// no top-level await: the bundle of this file is CommonJS (scripts/bundle.mjs says why)
async function run(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);

  if (command === '--version' || command === 'version' || command === '-v') {
    const { VERSION } = await import('../sidecar/version.js');
    process.stdout.write(`vault-irsa-sidecar ${VERSION}\n`);
  } else if (command === 'wait') {
    const { runWait } = await import('../sidecar/wait.js');
    process.exitCode = await runWait(rest);
  } else if (command === 'status') {
    const { runStatus } = await import('../sidecar/status.js');
    process.exitCode = await runStatus(rest);
  } else if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(
      'usage: vault-irsa-sidecar [wait [--timeout=120s] | status [--json] | --version]\nconfiguration: environment variables, see README\n',
    );
  } else if (command === undefined) {
    // before the program's modules are compiled (sidecar/v8-flags.ts says why and what was measured)
    const { applySidecarV8Flags } = await import('../sidecar/v8-flags.js');
    applySidecarV8Flags();
    const { main } = await import('../sidecar/main.js');
    try {
      await main();
    } catch (e) {
      process.stderr.write(
        `${JSON.stringify({ level: 'fatal', event: 'start_failed', msg: `vault-irsa-sidecar failed to start: ${(e as Error)?.message ?? String(e)}` })}\n`,
      );
      process.exit(1);
    }
  } else {
    process.stderr.write(
      `vault-irsa-sidecar: unknown command "${command}" (usage: vault-irsa-sidecar [wait | status | --version])\n`,
    );
    process.exitCode = 2;
  }
}

void run();
