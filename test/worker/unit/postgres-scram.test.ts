import { describe, expect, it } from 'vitest'
import { saslPrepPassword } from '../../../src/protocols/postgres/auth/sasl-prep.ts'
import {
  MAX_SCRAM_ITERATIONS,
  type ScramClientFinal,
  scramClientFinal,
  scramClientFirst,
  verifyScramServerFinal,
} from '../../../src/protocols/postgres/auth/scram-sha-256.ts'
import { ProtocolError } from '../../../src/protocols/postgres/codec/protocol-error.ts'

const text = new TextEncoder()
const utf8 = (value: string) => text.encode(value)
const ascii = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

async function failure(action: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await action()
  } catch (error) {
    if (error instanceof ProtocolError) return { code: error.code, message: error.message }
    throw error
  }
  throw new Error('expected a ProtocolError')
}

type Exchange = {
  password: string
  clientNonce: string
  serverFirst: string
  clientFinal: string
  serverFinal: string
}

/**
 * SCRAM exchanges between psql 15 and a PostgreSQL 15.18 server, captured on the wire.
 * The non-ASCII passwords show SASLprep applied (mapping and NFKC) and the raw password
 * used where SASLprep refuses (a private-use character; RTL next to LTR letters).
 */
const POSTGRES_15: Record<string, Exchange> = {
  'an ASCII password': {
    password: 'pencil-secret',
    clientNonce: 't0gSaW1ym7JdX3VKXUzTDEkc',
    serverFirst:
      'r=t0gSaW1ym7JdX3VKXUzTDEkcUWOM5LMFnkfeVtyZS7WvtJBX,s=xRRyBzeY7wAvfpWbF3JtQA==,i=4096',
    clientFinal:
      'c=biws,r=t0gSaW1ym7JdX3VKXUzTDEkcUWOM5LMFnkfeVtyZS7WvtJBX,p=4A24MeNoOVc3pwsvMlwT82jT5qvAi2vYC0CRN6fWXcI=',
    serverFinal: 'v=OGVZc6Xuo3i/TGtHgg1Ru1R1AsEUY9fCiwWWflc0Nbo=',
  },
  'a password SASLprep maps and normalises (fullwidth, no-break space, soft hyphen)': {
    password: 'ｐａｓｓ\u00a0wörd\u00ad',
    clientNonce: 'wD2r6S/ODw0dmYnJ3nx+aspC',
    serverFirst:
      'r=wD2r6S/ODw0dmYnJ3nx+aspCnEj9xm6ES+SBzDC9U1/w3wvj,s=ZS5Do+0hQY6nddLhFxrT7g==,i=4096',
    clientFinal:
      'c=biws,r=wD2r6S/ODw0dmYnJ3nx+aspCnEj9xm6ES+SBzDC9U1/w3wvj,p=JbdG2VrKZjZuh87GlIQe8UtJZVOCP4HRxAP/HN0pfAU=',
    serverFinal: 'v=UJv/Dgv3zeQF/WsStC71uPiT+5DZrn7zr2k9WriJRsE=',
  },
  'a password with a prohibited private-use character (used raw)': {
    password: 'ｘ\ue000y',
    clientNonce: 'Uo35ODepbWuwHfiLjm9xnouk',
    serverFirst:
      'r=Uo35ODepbWuwHfiLjm9xnoukTYrc8E+5+tVvRyGCzk4ondhf,s=CgAC5aVVFpKJiTfBYQTWbw==,i=4096',
    clientFinal:
      'c=biws,r=Uo35ODepbWuwHfiLjm9xnoukTYrc8E+5+tVvRyGCzk4ondhf,p=Gw+YFofPhqxHdCi9DS4Za/ldgXVYW1RYHx1z3D57XXU=',
    serverFinal: 'v=N/+dYQwciPwWeUavsKLhez4oxJ5z0C+P1sX+n5GDmBk=',
  },
  'a password mixing right-to-left and left-to-right letters (used raw)': {
    password: '\u05d0ｘ\u05d1',
    clientNonce: '+3eUc2urJ3onIlf9P+CZV+dE',
    serverFirst:
      'r=+3eUc2urJ3onIlf9P+CZV+dETy5ikh5jCMIs8REEn0S4DXhC,s=wIpPFTSohE4i4nttfvl0Cg==,i=4096',
    clientFinal:
      'c=biws,r=+3eUc2urJ3onIlf9P+CZV+dETy5ikh5jCMIs8REEn0S4DXhC,p=VKM6GkvPrvfdgxap7ItaV2FQPM2tWIu920Ie1Fcs8Pg=',
    serverFinal: 'v=crVrZNqrXKRqSs7M1Hexnq8+zA7tBxTJwoaoGTBL9/A=',
  },
}

const RFC_7677 = {
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst:
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
}

/** A client at step 2 of the RFC 7677 exchange, for the failure cases. */
async function rfcFinal(): Promise<ScramClientFinal> {
  const first = scramClientFirst({ nonce: 'rOprNGfwEbeRWgbNEkqO', username: 'user' })
  return scramClientFinal(first, utf8(RFC_7677.serverFirst), 'pencil')
}

function serverFirstFailure(serverFirst: string, options = {}) {
  const first = scramClientFirst({ nonce: 'rOprNGfwEbeRWgbNEkqO' })
  return failure(() => scramClientFinal(first, utf8(serverFirst), 'pencil', options))
}

describe('SCRAM-SHA-256 client', () => {
  it('reproduces the RFC 7677 §3 example exchange', async () => {
    const first = scramClientFirst({ nonce: 'rOprNGfwEbeRWgbNEkqO', username: 'user' })
    expect(ascii(first.message)).toBe(RFC_7677.clientFirst)
    const final = await scramClientFinal(first, utf8(RFC_7677.serverFirst), 'pencil')
    expect(ascii(final.message)).toBe(RFC_7677.clientFinal)
    expect(() => verifyScramServerFinal(final, utf8(RFC_7677.serverFinal))).not.toThrow()
  })

  it.each(Object.entries(POSTGRES_15))(
    'sends what psql sent and accepts the PostgreSQL 15 server for %s',
    async (_case, exchange) => {
      const first = scramClientFirst({ nonce: exchange.clientNonce })
      expect(ascii(first.message)).toBe(`n,,n=,r=${exchange.clientNonce}`)
      const final = await scramClientFinal(first, utf8(exchange.serverFirst), exchange.password)
      expect(ascii(final.message)).toBe(exchange.clientFinal)
      expect(() => verifyScramServerFinal(final, utf8(exchange.serverFinal))).not.toThrow()
    }
  )

  it('starts with an empty user name and 18 random bytes of nonce, as libpq does', () => {
    const first = scramClientFirst()
    expect(ascii(first.message)).toMatch(/^n,,n=,r=[A-Za-z0-9+/]{24}$/)
    expect(first.clientNonce).not.toBe(scramClientFirst().clientNonce)
  })

  it('escapes "," and "=" in a SCRAM user name', () => {
    const first = scramClientFirst({ nonce: 'abc', username: 'a,b=c' })
    expect(first.clientFirstBare).toBe('n=a=2Cb=3Dc,r=abc')
  })

  it('refuses a server signature that does not match', async () => {
    const final = await rfcFinal()
    const forged = 'v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='
    expect(await failure(() => verifyScramServerFinal(final, utf8(forged)))).toEqual({
      code: 'protocol.auth_failed',
      message:
        "The origin's SCRAM server signature does not match: it does not know this credential's verifier, so it may not be the intended server.",
    })
  })

  it('refuses a server-final-message without a signature', async () => {
    const final = await rfcFinal()
    expect(await failure(() => verifyScramServerFinal(final, utf8('x=1')))).toEqual({
      code: 'protocol.malformed',
      message: "The origin's SCRAM message is malformed: server-final-message has no v= signature.",
    })
  })

  it('reports a server-final-message carrying an error', async () => {
    const final = await rfcFinal()
    expect(await failure(() => verifyScramServerFinal(final, utf8('e=invalid-proof')))).toEqual({
      code: 'protocol.auth_failed',
      message: 'The origin ended SCRAM authentication with "invalid-proof".',
    })
  })

  it('refuses a server nonce that does not start with the client nonce', async () => {
    expect(
      await serverFirstFailure('r=XXprNGfwEbeRWgbNEkqOserver,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')
    ).toEqual({
      code: 'protocol.auth_failed',
      message: "The origin's SCRAM nonce does not extend the gateway's nonce.",
    })
  })

  it('refuses a server nonce that adds nothing to the client nonce', async () => {
    const echoed = 'r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'
    expect((await serverFirstFailure(echoed)).code).toBe('protocol.auth_failed')
  })

  it('refuses an iteration count above what workerd can derive, before deriving', async () => {
    const serverFirst = `r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=${MAX_SCRAM_ITERATIONS + 1}`
    expect(await serverFirstFailure(serverFirst)).toEqual({
      code: 'protocol.auth_failed',
      message: 'The origin asked for 100001 SCRAM iterations; the gateway accepts 1 to 100000.',
    })
  })

  it('derives at exactly the highest iteration count workerd allows', async () => {
    const first = scramClientFirst({ nonce: 'abc' })
    const serverFirst = `r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=${MAX_SCRAM_ITERATIONS}`
    const final = await scramClientFinal(first, utf8(serverFirst), 'pencil')
    expect(ascii(final.message)).toMatch(/^c=biws,r=abcdef,p=[A-Za-z0-9+/]{43}=$/)
  })

  it('refuses an iteration count below a configured minimum', async () => {
    const serverFirst = 'r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1024'
    expect((await serverFirstFailure(serverFirst, { minIterations: 4096 })).message).toBe(
      'The origin asked for 1024 SCRAM iterations; the gateway accepts 4096 to 100000.'
    )
  })

  it.each([
    ['a zero iteration count', 'r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0'],
    ['a negative iteration count', 'r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1'],
    ['a salt that is not base64', 'r=rOprNGfwEbeRWgbNEkqOx,s=not*base64,i=4096'],
    ['an empty salt', 'r=rOprNGfwEbeRWgbNEkqOx,s=,i=4096'],
    ['attributes out of order', 's=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOx,i=4096'],
    ['a missing iteration count', 'r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ=='],
  ])('refuses a server-first-message with %s as malformed', async (_case, serverFirst) => {
    expect((await serverFirstFailure(serverFirst)).code).toBe('protocol.malformed')
  })

  it('refuses a server-first-message that is not printable ASCII', async () => {
    const first = scramClientFirst({ nonce: 'abc' })
    const serverFirst = Uint8Array.of(...utf8('r=abcd,s=QQ==,i=1'), 0)
    expect(await failure(() => scramClientFinal(first, serverFirst, 'pencil'))).toEqual({
      code: 'protocol.malformed',
      message:
        "The origin's SCRAM message is malformed: server-first-message is not printable ASCII.",
    })
  })

  it('refuses a mandatory extension it does not know', async () => {
    const serverFirst = 'm=ext,r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'
    expect((await serverFirstFailure(serverFirst)).code).toBe('protocol.auth_failed')
  })

  it('refuses an empty password, which Postgres never accepts', async () => {
    const first = scramClientFirst({ nonce: 'rOprNGfwEbeRWgbNEkqO' })
    expect(await failure(() => scramClientFinal(first, utf8(RFC_7677.serverFirst), ''))).toEqual({
      code: 'protocol.auth_failed',
      message: 'The origin credential has an empty password, which Postgres never accepts.',
    })
  })
})

describe('SASLprep of SCRAM passwords', () => {
  it('leaves ASCII alone, control characters included, as Postgres does', () => {
    expect(saslPrepPassword('pencil')).toBe('pencil')
    expect(saslPrepPassword('tab\there')).toBe('tab\there')
  })

  it('maps non-ASCII spaces to a space and drops characters mapped to nothing', () => {
    expect(saslPrepPassword('a\u00a0b\u3000c\u00add\u2060e')).toBe('a b cde')
  })

  it('normalises with NFKC', () => {
    expect(saslPrepPassword('ｐａｓｓ')).toBe('pass')
    expect(saslPrepPassword('\u2168')).toBe('IX')
    expect(saslPrepPassword('e\u0301')).toBe('\u00e9')
  })

  it('uses the raw password when anything prohibited is left', () => {
    expect(saslPrepPassword('ｘ\ue000y')).toBe('ｘ\ue000y')
    expect(saslPrepPassword('ｘ\u0007')).toBe('ｘ\u0007')
  })

  it('uses the raw password when mapping leaves nothing', () => {
    expect(saslPrepPassword('\u00ad\u2060')).toBe('\u00ad\u2060')
  })

  it('uses the raw password for code points unassigned in Unicode', () => {
    expect(saslPrepPassword('ｘ\u{e0080}')).toBe('ｘ\u{e0080}')
  })

  it('checks right-to-left strings with the RFC 3454 §6 bidi rules', () => {
    expect(saslPrepPassword('\u05d0\u00a0\u05d1')).toBe('\u05d0 \u05d1')
    expect(saslPrepPassword('\u05d0\u00a0a\u05d1')).toBe('\u05d0\u00a0a\u05d1')
    expect(saslPrepPassword('\u05d0\u00a01')).toBe('\u05d0\u00a01')
  })
})
