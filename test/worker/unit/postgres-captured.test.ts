/**
 * Byte sequences captured from real clients talking to a real PostgreSQL 15.18 server
 * (through a logging TCP relay), with the chunk sizes they arrived in.
 */
import { describe, expect, it } from 'vitest'
import { md5PasswordResponse } from '../../../src/protocols/postgres/auth/md5-password.ts'
import {
  decodeBackendMessage,
  encodeBackendMessage,
} from '../../../src/protocols/postgres/codec/backend.ts'
import {
  type Frame,
  type FramerPhase,
  MessageFramer,
} from '../../../src/protocols/postgres/codec/framer.ts'
import {
  decodeFrontendMessage,
  decodePasswordMessage,
  decodeSaslInitialResponse,
  decodeSaslResponse,
  encodeFrontendMessage,
} from '../../../src/protocols/postgres/codec/frontend.ts'
import {
  decodeEncryptionResponse,
  decodeStartupFrame,
  encodeStartupPhaseMessage,
} from '../../../src/protocols/postgres/codec/startup.ts'

type Capture = {
  clientChunks: number[]
  client: string[]
  serverChunks: number[]
  server: string[]
}

// psql 15, SCRAM, then `select 1 as one, null::text as nothing, 'héllo'::text as greeting`
const PSQL_SIMPLE_QUERY: Capture = {
  clientChunks: [63, 55, 109, 72, 5],
  client: [
    '0000003f000300007573657200706f73746772657300646174616261736500706f737467726573006170706c',
    '69636174696f6e5f6e616d65007073716c00007000000036534352414d2d5348412d32353600000000206e2c',
    '2c6e3d2c723d74306753615731796d374a645833564b58557a5444456b63700000006c633d626977732c723d',
    '74306753615731796d374a645833564b58557a5444456b6355574f4d354c4d466e6b66655674795a53375776',
    '744a42582c703d344132344d654e6f4f566333707773764d6c775438326a543571764169327659433043524e',
    '3666575863493d510000004773656c6563742031206173206f6e652c206e756c6c3a3a74657874206173206e',
    '6f7468696e672c202768c3a96c6c6f273a3a74657874206173206772656574696e67005800000004',
  ],
  serverChunks: [24, 93, 469, 128],
  server: [
    '52000000170000000a534352414d2d5348412d3235360000520000005c0000000b723d74306753615731796d',
    '374a645833564b58557a5444456b6355574f4d354c4d466e6b66655674795a53375776744a42582c733d7852',
    '5279427a6559377741766670576246334a7451413d3d2c693d3430393652000000360000000c763d4f47565a',
    '633658756f33692f544774486767315275315231417345555939664369775757666c63304e626f3d52000000',
    '0800000000530000001a6170706c69636174696f6e5f6e616d65007073716c005300000019636c69656e745f',
    '656e636f64696e670055544638005300000017446174655374796c650049534f2c204d445900530000002664',
    '656661756c745f7472616e73616374696f6e5f726561645f6f6e6c79006f6666005300000017696e5f686f74',
    '5f7374616e646279006f6666005300000019696e74656765725f6461746574696d6573006f6e00530000001b',
    '496e74657276616c5374796c6500706f73746772657300530000001469735f737570657275736572006f6e00',
    '53000000197365727665725f656e636f64696e6700555446380053000000327365727665725f76657273696f',
    '6e0031352e3138202844656269616e2031352e31382d302b646562313275312900530000002373657373696f',
    '6e5f617574686f72697a6174696f6e00706f7374677265730053000000237374616e646172645f636f6e666f',
    '726d696e675f737472696e6773006f6e00530000001554696d655a6f6e65004574632f555443004b0000000c',
    '00000df87283fb1f5a0000000549540000005100036f6e6500000000000000000000170004ffffffff00006e',
    '6f7468696e670000000000000000000019ffffffffffff00006772656574696e670000000000000000000019',
    'ffffffffffff0000440000001900030000000131ffffffff0000000668c3a96c6c6f430000000d53454c4543',
    '542031005a0000000549',
  ],
}

// pgbench -S -M simple -t 2, after authentication
const PGBENCH_SIMPLE: Capture = {
  clientChunks: [62, 61, 5],
  client: [
    '510000003d53454c454354206162616c616e63652046524f4d20706762656e63685f6163636f756e74732057',
    '4845524520616964203d2038383034313b00510000003c53454c454354206162616c616e63652046524f4d20',
    '706762656e63685f6163636f756e747320574845524520616964203d20343337313b005800000004',
  ],
  serverChunks: [66, 66],
  server: [
    '540000002100016162616c616e636500000040080003000000170004ffffffff0000440000000b0001000000',
    '0130430000000d53454c4543542031005a0000000549540000002100016162616c616e636500000040080003',
    '000000170004ffffffff0000440000000b00010000000130430000000d53454c4543542031005a0000000549',
  ],
}

// pgbench -S -M extended -t 2, after authentication
const PGBENCH_EXTENDED: Capture = {
  clientChunks: [108, 107, 5],
  client: [
    '500000003d0053454c454354206162616c616e63652046524f4d20706762656e63685f6163636f756e747320',
    '574845524520616964203d2024313b0000004200000017000000000001000000053936303032000100004400',
    '0000065000450000000900000000005300000004500000003d0053454c454354206162616c616e6365204652',
    '4f4d20706762656e63685f6163636f756e747320574845524520616964203d2024313b000000420000001600',
    '0000000001000000043134363500010000440000000650004500000009000000000053000000045800000004',
  ],
  serverChunks: [76, 76],
  server: [
    '31000000043200000004540000002100016162616c616e636500000040080003000000170004ffffffff0000',
    '440000000b00010000000130430000000d53454c4543542031005a0000000549310000000432000000045400',
    '00002100016162616c616e636500000040080003000000170004ffffffff0000440000000b00010000000130',
    '430000000d53454c4543542031005a0000000549',
  ],
}

// psql 15 as a role with md5 auth, then `select * from nope`
const PSQL_MD5_ERROR: Capture = {
  clientChunks: [62, 41, 24, 5],
  client: [
    '0000003e0003000075736572006d64357573657200646174616261736500706f737467726573006170706c69',
    '636174696f6e5f6e616d65007073716c000070000000286d6435326562643437376361343038343738346530',
    '323932333263663030373333313800510000001773656c656374202a2066726f6d206e6f7065005800000004',
  ],
  serverChunks: [13, 414, 104, 6],
  server: [
    '520000000c00000005dca5eac4520000000800000000530000001a6170706c69636174696f6e5f6e616d6500',
    '7073716c005300000019636c69656e745f656e636f64696e670055544638005300000017446174655374796c',
    '650049534f2c204d445900530000002664656661756c745f7472616e73616374696f6e5f726561645f6f6e6c',
    '79006f6666005300000017696e5f686f745f7374616e646279006f6666005300000019696e74656765725f64',
    '61746574696d6573006f6e00530000001b496e74657276616c5374796c6500706f7374677265730053000000',
    '1569735f737570657275736572006f66660053000000197365727665725f656e636f64696e67005554463800',
    '53000000327365727665725f76657273696f6e0031352e3138202844656269616e2031352e31382d302b6465',
    '62313275312900530000002273657373696f6e5f617574686f72697a6174696f6e006d643575736572005300',
    '0000237374616e646172645f636f6e666f726d696e675f737472696e6773006f6e00530000001554696d655a',
    '6f6e65004574632f555443004b0000000c00000e032c1e264d5a00000005494500000067534552524f520056',
    '4552524f5200433432503031004d72656c6174696f6e20226e6f70652220646f6573206e6f74206578697374',
    '00503135004670617273655f72656c6174696f6e2e63004c3133393200527061727365724f70656e5461626c',
    '6500005a0000000549',
  ],
}

// psql 15 after authentication: RAISE NOTICE, LISTEN/NOTIFY, COPY in and out
const PSQL_NOTICE_NOTIFY_COPY: Capture = {
  clientChunks: [50, 18, 31, 41, 24, 24, 23, 5],
  client: [
    '5100000031646f20242420626567696e207261697365206e6f74696365202768692025272c2034323b20656e',
    '642024243b0051000000116c697374656e206368616e3b00510000001e6e6f74696679206368616e2c202770',
    '61796c6f61642d31273b0051000000286372656174652074656d70207461626c652074286120696e742c2062',
    '2074657874293b005100000017636f707920742066726f6d20737464696e3b00640000001231096f6e650a32',
    '095c4e0a5c2e0a63000000045100000016636f7079207420746f207374646f75743b005800000004',
  ],
  serverChunks: [123, 14, 18, 42, 24, 12, 18, 56],
  server: [
    '4e0000007a534e4f5449434500564e4f5449434500433030303030004d68692034320057504c2f706753514c',
    '2066756e6374696f6e20696e6c696e655f636f64655f626c6f636b206c696e65203120617420524149534500',
    '46706c5f657865632e63004c333839310052657865635f73746d745f726169736500004300000007444f005a',
    '0000000549430000000b4c495354454e005a0000000549430000000b4e4f5449465900410000001700000e06',
    '6368616e007061796c6f61642d31005a00000005494300000011435245415445205441424c45005a00000005',
    '49470000000b00000200000000430000000b434f50592032005a0000000549480000000b0000020000000064',
    '0000000a31096f6e650a640000000932095c4e0a6300000004430000000b434f50592032005a0000000549',
  ],
}

// a hand-built client after cleartext auth: named statement, Describe, Bind with NULL, Execute with a row limit, Close, FunctionCall, empty query, Flush
const EXTENDED_AND_FUNCTION_CALL: Capture = {
  clientChunks: [265, 23, 19, 11, 5],
  client: [
    '500000004973746d74310073656c65637420672c2024313a3a74657874206173206c6162656c2066726f6d20',
    '67656e65726174655f73657269657328312c203329206700000100000019440000000b5373746d7431004200',
    '000022706f7274616c310073746d743100000100000001ffffffff000200010000440000000d50706f727461',
    '6c31004500000010706f7274616c3100000000024500000010706f7274616c310000000000430000000d5070',
    '6f7274616c3100430000000b5373746d743100500000002200736574206c6f63616c20776f726b5f6d656d20',
    '3d2027384d4227000000420000000c0000000000000000440000000650004500000009000000000053000000',
    '04460000001600000575000100000001000000022d35000046000000120000057500000001ffffffff000151',
    '000000050048000000045800000004',
  ],
  serverChunks: [342, 15, 16, 15, 11],
  server: [
    '3100000004740000000a000100000019540000003200026700000000000000000000170004ffffffff00006c',
    '6162656c0000000000000000000019ffffffffffff0000320000000454000000320002670000000000000000',
    '0000170004ffffffff00016c6162656c0000000000000000000019ffffffffffff0000440000001200020000',
    '000400000001ffffffff440000001200020000000400000002ffffffff730000000444000000120002000000',
    '0400000003ffffffff430000000d53454c45435420310033000000043300000004310000000432000000046e',
    '000000044e00000075535741524e494e4700565741524e494e4700433235503031004d534554204c4f43414c',
    '2063616e206f6e6c79206265207573656420696e207472616e73616374696f6e20626c6f636b730046786163',
    '742e63004c333538370052436865636b5472616e73616374696f6e426c6f636b00004300000008534554005a',
    '0000000549560000000900000001355a00000005495600000008ffffffff5a000000054949000000045a0000',
    '000549',
  ],
}

// a StartupMessage asking for protocol 3.1 with a _pq_ option
const NEGOTIATE_PROTOCOL: Capture = {
  clientChunks: [62],
  client: [
    '0000003e000300017573657200636c6561727573657200646174616261736500706f737467726573005f7071',
    '5f2e636f6d7072657373696f6e006f6e0000',
  ],
  serverChunks: [39],
  server: ['760000001d00030000000000015f70715f2e636f6d7072657373696f6e00520000000800000003'],
}

const CAPTURES = {
  PSQL_SIMPLE_QUERY,
  PGBENCH_SIMPLE,
  PGBENCH_EXTENDED,
  PSQL_MD5_ERROR,
  PSQL_NOTICE_NOTIFY_COPY,
  EXTENDED_AND_FUNCTION_CALL,
  NEGOTIATE_PROTOCOL,
}

/** Captures whose client side starts with a StartupMessage. */
const STARTS_WITH_STARTUP = new Set(['PSQL_SIMPLE_QUERY', 'PSQL_MD5_ERROR', 'NEGOTIATE_PROTOCOL'])

const text = new TextEncoder()
const utf8 = (value: string) => text.encode(value)

function fromHex(lines: string[]): Uint8Array {
  const hex = lines.join('')
  return Uint8Array.from({ length: hex.length / 2 }, (_, i) =>
    Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  )
}

/** The stream cut at the chunk boundaries it arrived with. */
function chunksOf(lines: string[], sizes: number[]): Uint8Array[] {
  const stream = fromHex(lines)
  const chunks: Uint8Array[] = []
  let at = 0
  for (const size of sizes) {
    chunks.push(stream.subarray(at, at + size))
    at += size
  }
  expect(at).toBe(stream.length)
  return chunks
}

function frames(chunks: Uint8Array[], phase: FramerPhase): Frame[] {
  const framer = new MessageFramer({ phase })
  const all = chunks.flatMap((chunk) => framer.push(chunk))
  framer.finish()
  return all
}

function clientFrames(name: keyof typeof CAPTURES): Frame[] {
  const capture = CAPTURES[name]
  const phase = STARTS_WITH_STARTUP.has(name) ? 'startup' : 'normal'
  return frames(chunksOf(capture.client, capture.clientChunks), phase)
}

function serverFrames(name: keyof typeof CAPTURES): Frame[] {
  const capture = CAPTURES[name]
  return frames(chunksOf(capture.server, capture.serverChunks), 'normal')
}

function sameFrames(actual: Uint8Array[], expected: Uint8Array[]): boolean {
  return (
    actual.length === expected.length &&
    actual.every((bytes, i) => {
      const other = expected[i] as Uint8Array
      return bytes.length === other.length && bytes.every((byte, j) => byte === other[j])
    })
  )
}

function decodeClient(frame: Frame) {
  return frame.phase === 'startup' ? decodeStartupFrame(frame) : decodeFrontendMessage(frame)
}

function decodeServer(frame: Frame) {
  if (frame.phase !== 'normal') throw new Error('a server sends no startup packets')
  return decodeBackendMessage(frame)
}

function typed(frame: Frame | undefined) {
  if (frame?.phase !== 'normal') throw new Error('expected a typed message')
  return frame
}

describe('captured Postgres 15 traffic', () => {
  it('decodes a psql startup, SCRAM exchange and simple query as psql sent them', () => {
    const client = clientFrames('PSQL_SIMPLE_QUERY')
    expect(client.map((frame) => decodeClient(frame).type)).toEqual([
      'StartupMessage',
      'AuthenticationResponse',
      'AuthenticationResponse',
      'Query',
      'Terminate',
    ])
    expect(decodeClient(client[0] as Frame)).toEqual({
      type: 'StartupMessage',
      protocolVersion: 196608,
      parameters: { user: 'postgres', database: 'postgres', application_name: 'psql' },
    })
    expect(decodeSaslInitialResponse(typed(client[1]))).toEqual({
      type: 'SASLInitialResponse',
      mechanism: 'SCRAM-SHA-256',
      data: utf8('n,,n=,r=t0gSaW1ym7JdX3VKXUzTDEkc'),
    })
    expect(decodeSaslResponse(typed(client[2]))).toEqual({
      type: 'SASLResponse',
      data: utf8(
        'c=biws,r=t0gSaW1ym7JdX3VKXUzTDEkcUWOM5LMFnkfeVtyZS7WvtJBX,p=4A24MeNoOVc3pwsvMlwT82jT5qvAi2vYC0CRN6fWXcI='
      ),
    })
    expect(decodeClient(client[3] as Frame)).toEqual({
      type: 'Query',
      sql: "select 1 as one, null::text as nothing, 'héllo'::text as greeting",
    })
  })

  it("decodes the server's side of that session: SCRAM, parameters, key data and the row", () => {
    const server = serverFrames('PSQL_SIMPLE_QUERY').map(decodeServer)
    expect(server.slice(0, 4)).toEqual([
      { type: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256'] },
      {
        type: 'AuthenticationSASLContinue',
        data: utf8(
          'r=t0gSaW1ym7JdX3VKXUzTDEkcUWOM5LMFnkfeVtyZS7WvtJBX,s=xRRyBzeY7wAvfpWbF3JtQA==,i=4096'
        ),
      },
      {
        type: 'AuthenticationSASLFinal',
        data: utf8('v=OGVZc6Xuo3i/TGtHgg1Ru1R1AsEUY9fCiwWWflc0Nbo='),
      },
      { type: 'AuthenticationOk' },
    ])
    const parameters = Object.fromEntries(
      server.flatMap((message) =>
        message.type === 'ParameterStatus' ? [[message.name, message.value]] : []
      )
    )
    expect(parameters).toEqual({
      application_name: 'psql',
      client_encoding: 'UTF8',
      DateStyle: 'ISO, MDY',
      default_transaction_read_only: 'off',
      in_hot_standby: 'off',
      integer_datetimes: 'on',
      IntervalStyle: 'postgres',
      is_superuser: 'on',
      server_encoding: 'UTF8',
      server_version: '15.18 (Debian 15.18-0+deb12u1)',
      session_authorization: 'postgres',
      standard_conforming_strings: 'on',
      TimeZone: 'Etc/UTC',
    })
    expect(server.slice(17)).toEqual([
      { type: 'BackendKeyData', processId: 3576, secretKey: Uint8Array.of(0x72, 0x83, 0xfb, 0x1f) },
      { type: 'ReadyForQuery', status: 'I' },
      {
        type: 'RowDescription',
        fields: [
          {
            name: 'one',
            tableOid: 0,
            columnAttributeNumber: 0,
            dataTypeOid: 23,
            dataTypeSize: 4,
            typeModifier: -1,
            format: 0,
          },
          {
            name: 'nothing',
            tableOid: 0,
            columnAttributeNumber: 0,
            dataTypeOid: 25,
            dataTypeSize: -1,
            typeModifier: -1,
            format: 0,
          },
          {
            name: 'greeting',
            tableOid: 0,
            columnAttributeNumber: 0,
            dataTypeOid: 25,
            dataTypeSize: -1,
            typeModifier: -1,
            format: 0,
          },
        ],
      },
      { type: 'DataRow', values: [utf8('1'), null, utf8('héllo')] },
      { type: 'CommandComplete', tag: 'SELECT 1' },
      { type: 'ReadyForQuery', status: 'I' },
    ])
  })

  it('decodes a pgbench select-only transaction in the simple protocol', () => {
    expect(clientFrames('PGBENCH_SIMPLE').map(decodeClient)).toEqual([
      { type: 'Query', sql: 'SELECT abalance FROM pgbench_accounts WHERE aid = 88041;' },
      { type: 'Query', sql: 'SELECT abalance FROM pgbench_accounts WHERE aid = 4371;' },
      { type: 'Terminate' },
    ])
    const abalance = {
      name: 'abalance',
      tableOid: 16392,
      columnAttributeNumber: 3,
      dataTypeOid: 23,
      dataTypeSize: 4,
      typeModifier: -1,
      format: 0,
    }
    expect(serverFrames('PGBENCH_SIMPLE').map(decodeServer).slice(0, 4)).toEqual([
      { type: 'RowDescription', fields: [abalance] },
      { type: 'DataRow', values: [utf8('0')] },
      { type: 'CommandComplete', tag: 'SELECT 1' },
      { type: 'ReadyForQuery', status: 'I' },
    ])
  })

  it('decodes a pgbench select-only transaction in the extended protocol', () => {
    expect(clientFrames('PGBENCH_EXTENDED').map(decodeClient).slice(0, 5)).toEqual([
      {
        type: 'Parse',
        statement: '',
        query: 'SELECT abalance FROM pgbench_accounts WHERE aid = $1;',
        parameterTypes: [],
      },
      {
        type: 'Bind',
        portal: '',
        statement: '',
        parameterFormats: [],
        parameters: [utf8('96002')],
        resultFormats: [0],
      },
      { type: 'Describe', target: 'portal', name: '' },
      { type: 'Execute', portal: '', maxRows: 0 },
      { type: 'Sync' },
    ])
    expect(serverFrames('PGBENCH_EXTENDED').map((frame) => decodeServer(frame).type)).toEqual([
      ...['ParseComplete', 'BindComplete', 'RowDescription', 'DataRow', 'CommandComplete'],
      'ReadyForQuery',
      ...['ParseComplete', 'BindComplete', 'RowDescription', 'DataRow', 'CommandComplete'],
      'ReadyForQuery',
    ])
  })

  it('decodes md5 authentication and an ErrorResponse with position, file, line and routine', async () => {
    const client = clientFrames('PSQL_MD5_ERROR')
    const server = serverFrames('PSQL_MD5_ERROR').map(decodeServer)
    expect(server[0]).toEqual({
      type: 'AuthenticationMD5Password',
      salt: Uint8Array.of(0xdc, 0xa5, 0xea, 0xc4),
    })
    const password = decodePasswordMessage(typed(client[1]))
    expect(password).toEqual({
      type: 'PasswordMessage',
      password: 'md52ebd477ca4084784e029232cf0073318',
    })
    // The gateway's md5 answer for the same role, password and salt is what psql sent.
    expect(
      await md5PasswordResponse('md5user', 'md5-pass', Uint8Array.of(0xdc, 0xa5, 0xea, 0xc4))
    ).toBe(password.password)
    expect(server.at(-2)).toEqual({
      type: 'ErrorResponse',
      fields: {
        severity: 'ERROR',
        severityNonLocalized: 'ERROR',
        code: '42P01',
        message: 'relation "nope" does not exist',
        position: '15',
        file: 'parse_relation.c',
        line: '1392',
        routine: 'parserOpenTable',
      },
    })
  })

  it('decodes a notice, a notification and COPY in both directions', () => {
    const client = clientFrames('PSQL_NOTICE_NOTIFY_COPY').map(decodeClient)
    expect(client.slice(4, 7)).toEqual([
      { type: 'Query', sql: 'copy t from stdin;' },
      { type: 'CopyData', data: utf8('1\tone\n2\t\\N\n\\.\n') },
      { type: 'CopyDone' },
    ])
    const server = serverFrames('PSQL_NOTICE_NOTIFY_COPY').map(decodeServer)
    expect(server[0]).toEqual({
      type: 'NoticeResponse',
      fields: {
        severity: 'NOTICE',
        severityNonLocalized: 'NOTICE',
        code: '00000',
        message: 'hi 42',
        where: 'PL/pgSQL function inline_code_block line 1 at RAISE',
        file: 'pl_exec.c',
        line: '3891',
        routine: 'exec_stmt_raise',
      },
    })
    expect(server).toContainEqual({
      type: 'NotificationResponse',
      processId: 3590,
      channel: 'chan',
      payload: 'payload-1',
    })
    expect(server).toContainEqual({ type: 'CopyInResponse', format: 0, columnFormats: [0, 0] })
    expect(server.slice(-6)).toEqual([
      { type: 'CopyOutResponse', format: 0, columnFormats: [0, 0] },
      { type: 'CopyData', data: utf8('1\tone\n') },
      { type: 'CopyData', data: utf8('2\t\\N\n') },
      { type: 'CopyDone' },
      { type: 'CommandComplete', tag: 'COPY 2' },
      { type: 'ReadyForQuery', status: 'I' },
    ])
  })

  it('decodes the SSLRequest psql sends first and the refusal of a server without SSL', () => {
    const frame = new MessageFramer().push(fromHex(['0000000804d2162f']))[0] as Frame
    expect(decodeClient(frame)).toEqual({ type: 'SSLRequest' })
    expect(decodeEncryptionResponse(fromHex(['4e']), 'SSLRequest')).toBe('refused')
  })

  it('decodes the CancelRequest psql sends on a new connection', () => {
    const framer = new MessageFramer()
    const [frame] = framer.push(fromHex(['0000001004d2162e00000e0b3570e150']))
    expect(decodeClient(frame as Frame)).toEqual({
      type: 'CancelRequest',
      processId: 3595,
      secretKey: Uint8Array.of(0x35, 0x70, 0xe1, 0x50),
    })
    expect(framer.phase).toBe('startup')
  })

  it('decodes Describe of a statement, a row limit, Close, FunctionCall and an empty query', () => {
    const client = clientFrames('EXTENDED_AND_FUNCTION_CALL').map(decodeClient)
    expect(client).toEqual([
      {
        type: 'Parse',
        statement: 'stmt1',
        query: 'select g, $1::text as label from generate_series(1, 3) g',
        parameterTypes: [25],
      },
      { type: 'Describe', target: 'statement', name: 'stmt1' },
      {
        type: 'Bind',
        portal: 'portal1',
        statement: 'stmt1',
        parameterFormats: [0],
        parameters: [null],
        resultFormats: [1, 0],
      },
      { type: 'Describe', target: 'portal', name: 'portal1' },
      { type: 'Execute', portal: 'portal1', maxRows: 2 },
      { type: 'Execute', portal: 'portal1', maxRows: 0 },
      { type: 'Close', target: 'portal', name: 'portal1' },
      { type: 'Close', target: 'statement', name: 'stmt1' },
      { type: 'Parse', statement: '', query: "set local work_mem = '8MB'", parameterTypes: [] },
      {
        type: 'Bind',
        portal: '',
        statement: '',
        parameterFormats: [],
        parameters: [],
        resultFormats: [],
      },
      { type: 'Describe', target: 'portal', name: '' },
      { type: 'Execute', portal: '', maxRows: 0 },
      { type: 'Sync' },
      {
        type: 'FunctionCall',
        functionOid: 1397,
        argumentFormats: [0],
        arguments: [utf8('-5')],
        resultFormat: 0,
      },
      {
        type: 'FunctionCall',
        functionOid: 1397,
        argumentFormats: [],
        arguments: [null],
        resultFormat: 1,
      },
      { type: 'Query', sql: '' },
      { type: 'Flush' },
      { type: 'Terminate' },
    ])
    const server = serverFrames('EXTENDED_AND_FUNCTION_CALL').map(decodeServer)
    expect(server.map((message) => message.type)).toEqual([
      ...['ParseComplete', 'ParameterDescription', 'RowDescription', 'BindComplete'],
      ...['RowDescription', 'DataRow', 'DataRow', 'PortalSuspended', 'DataRow'],
      ...['CommandComplete', 'CloseComplete', 'CloseComplete', 'ParseComplete', 'BindComplete'],
      ...['NoData', 'NoticeResponse', 'CommandComplete', 'ReadyForQuery'],
      ...['FunctionCallResponse', 'ReadyForQuery', 'FunctionCallResponse', 'ReadyForQuery'],
      ...['EmptyQueryResponse', 'ReadyForQuery'],
    ])
    expect(server[1]).toEqual({ type: 'ParameterDescription', parameterTypes: [25] })
    // The portal asked for column 1 in binary: an int4 arrives as 4 big-endian bytes.
    expect(server[5]).toEqual({ type: 'DataRow', values: [Uint8Array.of(0, 0, 0, 1), null] })
    expect(server[18]).toEqual({ type: 'FunctionCallResponse', result: utf8('5') })
    expect(server[20]).toEqual({ type: 'FunctionCallResponse', result: null })
  })

  it('decodes a protocol 3.1 request and the server negotiating it down', () => {
    expect(clientFrames('NEGOTIATE_PROTOCOL').map(decodeClient)).toEqual([
      {
        type: 'StartupMessage',
        protocolVersion: 196609,
        parameters: { user: 'clearuser', database: 'postgres', '_pq_.compression': 'on' },
      },
    ])
    expect(serverFrames('NEGOTIATE_PROTOCOL').map(decodeServer)).toEqual([
      {
        type: 'NegotiateProtocolVersion',
        newestVersion: 196608,
        unrecognizedOptions: ['_pq_.compression'],
      },
      { type: 'AuthenticationCleartextPassword' },
    ])
  })

  it('re-encodes every captured message to exactly the bytes that arrived', () => {
    for (const name of Object.keys(CAPTURES) as (keyof typeof CAPTURES)[]) {
      for (const frame of clientFrames(name)) {
        const encoded =
          frame.phase === 'startup'
            ? encodeStartupPhaseMessage(decodeStartupFrame(frame))
            : encodeFrontendMessage(decodeFrontendMessage(frame))
        expect(encoded, name).toEqual(frame.bytes)
      }
      for (const frame of serverFrames(name)) {
        expect(encodeBackendMessage(decodeServer(frame)), name).toEqual(frame.bytes)
      }
    }
  })

  it('frames every captured stream the same way whichever byte it is split at', () => {
    const mismatches: string[] = []
    for (const name of Object.keys(CAPTURES) as (keyof typeof CAPTURES)[]) {
      const capture = CAPTURES[name]
      const sides = [
        { lines: capture.client, phase: STARTS_WITH_STARTUP.has(name) ? 'startup' : 'normal' },
        { lines: capture.server, phase: 'normal' },
      ] as const
      for (const { lines, phase } of sides) {
        const stream = fromHex(lines)
        const expected = frames([stream], phase).map((frame) => frame.bytes)
        for (let split = 0; split <= stream.length; split++) {
          const framer = new MessageFramer({ phase })
          const actual = [
            ...framer.push(stream.subarray(0, split)),
            ...framer.push(stream.subarray(split)),
          ].map((frame) => frame.bytes)
          if (!sameFrames(actual, expected)) mismatches.push(`${name} ${phase} at ${split}`)
        }
      }
    }
    expect(mismatches).toEqual([])
  })
})
