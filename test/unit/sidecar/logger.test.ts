import { Writable } from 'node:stream';
import { createLogger } from '../../../sidecar/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { lines, log: createLogger('debug', stream) };
}

describe('logger redaction', () => {
  it('censors every credential-shaped field, top level and one down', () => {
    const { lines, log } = capture();
    log.info(
      {
        token: 'hvs.TOPSECRET',
        client_token: 'hvs.CLIENT',
        auth: { client_token: 'hvs.NESTED', accessor: 'ACCESSOR' },
        headers: { authorization: 'Bearer REQTOKEN', 'x-vault-token': 'hvs.HDR' },
        credentials: { secretAccessKey: 'AWSSECRET', sessionToken: 'SESSION' },
        data: { password: 'VALUE' },
        secretName: 'db',
      },
      'event',
    );
    const out = lines.join('');
    for (const s of [
      'TOPSECRET',
      'CLIENT',
      'NESTED',
      'ACCESSOR',
      'REQTOKEN',
      'hvs.HDR',
      'AWSSECRET',
      'SESSION',
      'VALUE',
    ]) {
      expect(out).not.toContain(s);
    }
    expect(out).toContain('"secretName":"db"');
    expect(JSON.parse(out)).toMatchObject({ level: 'info', name: 'vault-irsa-sidecar', msg: 'event' });
  });
});
