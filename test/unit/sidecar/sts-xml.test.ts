/**
 * The sidecar's reader of STS's XML answers (sidecar/aws/sts-xml.ts): what STS writes, escaped any way XML
 * allows, reads back as written; anything else is a named StsError, never another exception or a hang.
 */
import fc from 'fast-check';
import {
  decodeXmlEntities,
  elementText,
  parseAssumeRoleWithWebIdentity,
  parseDateTime,
  parseStsError,
  StsError,
} from '../../../sidecar/aws/sts-xml.js';
import { xmlEscape } from '../../../stand-ins/server-util.js';

/** XML text for `s`, each character written raw, as a named entity or as a decimal or hex reference. */
const escapedAnyWay = (s: string): fc.Arbitrary<string> =>
  fc.array(fc.nat(3), { minLength: [...s].length, maxLength: [...s].length }).map((ways) =>
    [...s]
      .map((ch, i) => {
        const cp = ch.codePointAt(0) ?? 0;
        const way = ways[i] ?? 0;
        if (way === 1) return `&#${cp};`;
        if (way === 2) return `&#x${cp.toString(16)};`;
        return xmlEscape(ch);
      })
      .join(''),
  );

/** text XML can carry: no NUL, no lone surrogates (fc's unicode strings are well formed) */
const xmlText = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !s.includes('\u0000'));
const fieldText = xmlText.map((s) => s.trim()).filter((s) => s.length > 0);

function answer(c: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string }): string {
  return `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser><AssumedRoleId>AROA:x</AssumedRoleId><Arn>arn:aws:sts::111122223333:assumed-role/r/x</Arn></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${c.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${c.secretAccessKey}</SecretAccessKey>
      <SessionToken>${c.sessionToken}</SessionToken>
      <Expiration>${c.expiration}</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`;
}

describe('STS XML: values round-trip', () => {
  it('any text, escaped any way XML allows, decodes to itself', () => {
    fc.assert(
      fc.property(
        xmlText.chain((s) => escapedAnyWay(s).map((e) => [s, e] as const)),
        ([s, e]) => {
          expect(decodeXmlEntities(e)).toBe(s);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('credentials with any values, escaped any way, parse to those values', () => {
    const escaped = fieldText.chain((s) => escapedAnyWay(s).map((e) => [s, e] as const));
    fc.assert(
      fc.property(
        escaped,
        escaped,
        escaped,
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }),
        ([id, idX], [secret, secretX], [session, sessionX], when) => {
          const expiration = when.toISOString().replace(/\.\d{3}Z$/, 'Z');
          const c = parseAssumeRoleWithWebIdentity(
            200,
            answer({ accessKeyId: idX, secretAccessKey: secretX, sessionToken: sessionX, expiration }),
          );
          expect(c).toEqual({
            accessKeyId: id,
            secretAccessKey: secret,
            sessionToken: session,
            expiration: new Date(expiration),
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("STS's error answer: the Code names the error, the Message (decoded) is its message", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          'InvalidIdentityToken',
          'AccessDenied',
          'IDPCommunicationError',
          'Throttling',
          'ValidationError',
        ),
        fieldText,
        fc.constantFrom(400, 403, 429, 500, 503),
        (code, message, status) => {
          const xml = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <Error>\n    <Type>Sender</Type>\n    <Code>${code}</Code>\n    <Message>${xmlEscape(message)}</Message>\n  </Error>\n  <RequestId>r</RequestId>\n</ErrorResponse>\n`;
          let thrown: unknown;
          try {
            parseAssumeRoleWithWebIdentity(status, xml);
          } catch (e) {
            thrown = e;
          }
          expect(thrown).toBeInstanceOf(StsError);
          expect(thrown).toMatchObject({
            name: 'StsError',
            awsCode: code,
            code: 'sts_error',
            message: message.slice(0, 500),
            status,
          });
        },
      ),
    );
  });
});

describe('STS XML: anything else is a named error', () => {
  const garbage = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    // XML-looking noise built from the very tags and entities the reader looks for
    fc
      .array(
        fc.constantFrom(
          '<Credentials>',
          '</Credentials>',
          '<AccessKeyId>',
          '</AccessKeyId>',
          '<SecretAccessKey>',
          '</SecretAccessKey>',
          '<SessionToken>',
          '</SessionToken>',
          '<Expiration>',
          '</Expiration>',
          '<Error>',
          '</Error>',
          '<Code>',
          '</Code>',
          '<Message>',
          '</Message>',
          '<Credentials a="1">',
          '<ErrorResponse>',
          '&amp;',
          '&#x110000;',
          '&#0;',
          '&#xD800;',
          '&#99999999999;',
          '&bogus;',
          '&',
          '<',
          '>',
          '2026-12-02T03:15:00Z',
          'x',
          ' ',
        ),
        { maxLength: 60 },
      )
      .map((parts) => parts.join('')),
  );

  it('never throws anything but an StsError with a name, for any status', () => {
    fc.assert(
      fc.property(garbage, fc.integer({ min: 0, max: 999 }), (body, status) => {
        try {
          const c = parseAssumeRoleWithWebIdentity(status, body);
          // only a 200 with every field present may pass
          expect(status).toBe(200);
          expect(c.expiration).toBeInstanceOf(Date);
        } catch (e) {
          expect(e).toBeInstanceOf(StsError);
          expect((e as StsError).awsCode).toMatch(/^[\w.:-]+$/);
        }
        expect(parseStsError(status, body)).toBeInstanceOf(StsError);
      }),
      { numRuns: 1000 },
    );
  });

  it('finishes on large adversarial answers (open tags without ends, endless references)', () => {
    for (const body of [
      '<Credentials>'.repeat(20_000),
      '<Credentials><AccessKeyId>' + 'a'.repeat(60_000),
      '&#'.repeat(30_000),
      '<Error '.repeat(10_000) + '>',
      '<Error><Code>' + '<Code>'.repeat(10_000),
    ]) {
      expect(() => parseAssumeRoleWithWebIdentity(200, body)).toThrow(StsError);
      expect(parseStsError(500, body)).toBeInstanceOf(StsError);
    }
  });

  it('a non-STS answer is named UnknownError and keeps its status (retry rules look at it)', () => {
    expect(parseStsError(503, '<html>Service Unavailable</html>')).toMatchObject({
      awsCode: 'UnknownError',
      status: 503,
    });
    expect(parseStsError(502, '')).toMatchObject({ awsCode: 'UnknownError', status: 502 });
  });

  it.each([
    ['no Credentials', '<AssumeRoleWithWebIdentityResponse/>', /without a Credentials element/],
    [
      'a missing SessionToken',
      '<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><Expiration>2026-01-01T00:00:00Z</Expiration></Credentials>',
      /Credentials\/SessionToken/,
    ],
    [
      'an Expiration that is not a date',
      '<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken><Expiration>soon</Expiration></Credentials>',
      /Expiration that is not a date-time/,
    ],
  ])('a 200 with %s is MalformedResponse', (_what, body, message) => {
    expect(() => parseAssumeRoleWithWebIdentity(200, body)).toThrow(
      expect.objectContaining({ awsCode: 'MalformedResponse', message: expect.stringMatching(message) }),
    );
  });
});

describe('STS XML: pieces', () => {
  it.each([
    ['&lt;&gt;&amp;&quot;&apos;', `<>&"'`],
    ['&#65;&#x42;', 'AB'],
    // XML's hex reference is `&#x` only
    ['&#X43;', '&#X43;'],
    ['&#x1F600;', '\u{1F600}'],
    ['&nbsp;&foo;&#0;&#xD800;&#x110000;', '&nbsp;&foo;&#0;&#xD800;&#x110000;'],
    ['a & b', 'a & b'],
  ])('decodes %s', (xml, text) => {
    expect(decodeXmlEntities(xml)).toBe(text);
  });

  it('finds an element by its exact name, attributes allowed, not a longer name', () => {
    expect(elementText('<ErrorResponse><Error><Code>X</Code></Error></ErrorResponse>', 'Error')).toBe('<Code>X</Code>');
    expect(elementText('<ErrorResponse>x</ErrorResponse>', 'Error')).toBeUndefined();
    expect(elementText('<Code a="1">X</Code>', 'Code')).toBe('X');
    expect(elementText('<Code>X', 'Code')).toBeUndefined();
  });

  it.each([
    ['2026-12-02T03:15:00Z', '2026-12-02T03:15:00.000Z'],
    ['2026-12-02T03:15:00.123Z', '2026-12-02T03:15:00.123Z'],
    ['2026-12-02T04:15:00+01:00', '2026-12-02T03:15:00.000Z'],
    ['2026-12-02T03:15:00.123456Z', '2026-12-02T03:15:00.123Z'],
    ['2026-12-02t03:15:00z', '2026-12-02T03:15:00.000Z'],
  ])('reads the date-time %s', (s, iso) => {
    expect(parseDateTime(s)?.toISOString()).toBe(iso);
  });

  it.each(['', '2026-12-02', '2026-13-02T03:15:00Z', '1733109300', 'Wed, 02 Dec 2026 03:15:00 GMT'])(
    'refuses the date-time %j',
    (s) => {
      expect(parseDateTime(s)).toBeUndefined();
    },
  );
});
