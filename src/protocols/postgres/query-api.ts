/**
 * `POST /v1/connections/:name/query`: SQL as JSON for agents without a Postgres driver.
 * One statement per request, parameters sent separately through the extended protocol
 * (never spliced into the text), the same pipeline as the tunnel (classify, decide, write
 * ahead, forward), rows returned as JSON up to `maxRows`. `runQuery` is that path on an
 * open session, shared with the MCP `query` tool.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { readJson } from '../../admin/body.ts'
import { type AppEnv, clientOf } from '../../app-env.ts'
import { PostgresCredential, PostgresTarget } from '../../connections/connection.ts'
import { concatBytes, utf8 } from '../../encoding.ts'
import { GatehouseError, jsonErrorResponse, toGatehouseError } from '../../errors.ts'
import { type TextMasker, tallyReport } from '../../masking/types.ts'
import type { HoldOptions } from '../../pipeline/pause.ts'
import { type GatewaySession, openSession } from '../../pipeline/session.ts'
import type { Outcome, SqlCommand } from '../../pipeline/types.ts'
import { classifySql, MAX_SQL_CHARS } from '../../policy/sql/index.ts'
import { SESSION_HEADER } from '../http/headers.ts'
import { approvalHeaders, httpHoldOptions } from '../http/hold.ts'
import { decodeBackendMessage, type FieldDescription } from './codec/backend.ts'
import type { MessageFrame } from './codec/framer.ts'
import { encodeFrontendMessage } from './codec/frontend.ts'
import type { NoticeFields } from './codec/notice-fields.ts'
import { cachedMaskingCatalog } from './masking/catalog-cache.ts'
import type { ResultMasker } from './masking/result-masker.ts'
import { PostgresMasking } from './masking/statement-plans.ts'
import { type OriginSession, openOriginSession } from './origin.ts'
import { jsonValue, typeName } from './value-types.ts'

const DEFAULT_MAX_ROWS = 1_000
const MAX_ROWS = 100_000
const MAX_PARAMS = 65_535

const Param = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.record(z.string(), z.unknown()),
  z.array(z.unknown()),
])

export const QueryRequest = z
  .object({
    sql: z.string().min(1).max(MAX_SQL_CHARS),
    /** Bound to $1, $2, …; objects and arrays are sent as JSON text. */
    params: z.array(Param).max(MAX_PARAMS).default([]),
    maxRows: z.number().int().min(1).max(MAX_ROWS).default(DEFAULT_MAX_ROWS),
  })
  .strict()

export type QueryResponse = {
  columns: { name: string; type: string }[]
  rows: unknown[][]
  rowCount: number
  command: string
  /** True when the statement had more rows than maxRows. */
  truncated: boolean
  /** Columns whose values were masked, and by what (`column:…`, `detector:…`). */
  masked?: { columns: string[]; by: { by: string; count: number }[] }
}

export type QueryInput = z.infer<typeof QueryRequest>

export const queryRoutes = new Hono<AppEnv>()

queryRoutes.post('/:name/query', async (c) => {
  const { gateway } = c.var
  const session = await openSession(gateway, {
    authorization: c.req.header('authorization'),
    connectionName: c.req.param('name'),
    protocol: 'sql-api',
    kinds: ['postgres'],
    client: clientOf(c.req.raw),
  })
  try {
    let input: QueryInput
    try {
      input = await readJson(c.req.raw, QueryRequest)
    } catch (error) {
      const refusal = toGatehouseError(error)
      session.recordRefusal(refusal)
      throw refusal
    }
    const result = await runQuery(session, input, httpHoldOptions(c.req.raw, gateway.config))
    return c.json({ ...result, sessionId: session.id }, 200, { [SESSION_HEADER]: session.id })
  } catch (error) {
    const refusal = toGatehouseError(error)
    return jsonErrorResponse(refusal, {
      [SESSION_HEADER]: session.id,
      ...approvalHeaders(refusal),
    })
  } finally {
    gateway.waitUntil(session.close())
  }
})

/**
 * One statement through an open session: classify, then decide → write ahead → hold →
 * run → mask, exactly as the JSON API does. Shared by the route and the MCP `query` tool;
 * refusals are recorded and thrown as GatehouseErrors.
 */
export async function runQuery(
  session: GatewaySession,
  input: QueryInput,
  hold: HoldOptions
): Promise<QueryResponse> {
  let command: SqlCommand
  try {
    const params = input.params.map(paramText)
    const classification = await classifySql(input.sql)
    if (classification.ok && classification.statements.length !== 1) {
      throw new GatehouseError('request.invalid', 'Send one SQL statement per request.')
    }
    command = {
      kind: 'sql',
      text: input.sql,
      statements: classification.statements,
      params,
      via: 'api',
    }
  } catch (error) {
    const refusal = toGatehouseError(error)
    session.recordRefusal(refusal)
    throw refusal
  }
  const target = PostgresTarget.parse(session.connection.target)
  const openOrigin = async () =>
    openOriginSession(target, PostgresCredential.parse(await session.loginCredential()), {
      application_name: 'gatehouse-sql-api',
    })
  const profile = session.masking
  const masking = profile.active
    ? new PostgresMasking(
        profile,
        profile.columns.length
          ? await cachedMaskingCatalog(session, profile.columns, openOrigin)
          : null
      )
    : undefined
  return session.run(
    command,
    async () => {
      const origin = await openOrigin()
      try {
        const response = await runStatement(
          origin,
          input.sql,
          command.params ?? [],
          input.maxRows,
          masking?.resultMasker(command),
          profile.text
        )
        const settled: Outcome = {
          status: 'ok',
          summary: {
            tags: [response.command],
            rows: response.rowCount,
            columns: response.columns.map((column) => column.name),
            truncated: response.truncated,
            ...(response.masked ? { masked: response.masked.by } : {}),
          },
        }
        return { result: response, settled: Promise.resolve(settled) }
      } finally {
        await origin.close()
      }
    },
    hold,
    masking?.vet
  )
}

function paramText(value: unknown): string | null {
  if (value === null) return null
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

/** Parse, Bind, Describe, Execute (maxRows + 1 to notice truncation), Sync; reads to ReadyForQuery. */
async function runStatement(
  origin: OriginSession,
  sql: string,
  params: readonly (string | null)[],
  maxRows: number,
  masker: ResultMasker | undefined,
  text: TextMasker
): Promise<QueryResponse> {
  await origin.writer.write(
    concatBytes([
      encodeFrontendMessage({ type: 'Parse', statement: '', query: sql, parameterTypes: [] }),
      encodeFrontendMessage({
        type: 'Bind',
        portal: '',
        statement: '',
        parameterFormats: [],
        parameters: params.map((param) => (param === null ? null : utf8(param))),
        resultFormats: [],
      }),
      encodeFrontendMessage({ type: 'Describe', target: 'portal', name: '' }),
      encodeFrontendMessage({ type: 'Execute', portal: '', maxRows: maxRows + 1 }),
      encodeFrontendMessage({ type: 'Sync' }),
    ])
  )
  let fields: FieldDescription[] = []
  const rows: unknown[][] = []
  let command = ''
  let truncated = false
  let failure: GatehouseError | undefined
  for (;;) {
    const received = await origin.frames.next()
    if (received?.phase !== 'normal')
      throw new GatehouseError(
        'origin.unreachable',
        'The origin closed the connection mid-statement.'
      )
    // Rows pass through the masker first; its notices are for wire clients, not this answer.
    const frames = masker ? masker.transform(received).map(frameOf) : [received]
    for (const frame of frames) {
      if (frame.type === 'N') continue
      const message = decodeBackendMessage(frame)
      switch (message.type) {
        case 'RowDescription':
          fields = message.fields
          break
        case 'DataRow':
          if (rows.length < maxRows)
            rows.push(
              message.values.map((value, index) =>
                jsonValue(fields[index]?.dataTypeOid ?? 0, value)
              )
            )
          else truncated = true
          break
        case 'PortalSuspended':
          truncated = true
          break
        case 'CommandComplete':
          command = message.tag
          break
        case 'ErrorResponse':
          failure = originFailure(message.fields, text)
          break
        case 'ReadyForQuery':
          if (failure) throw failure
          return {
            columns: fields.map((field) => ({
              name: field.name,
              type: typeName(field.dataTypeOid),
            })),
            rows,
            rowCount: rows.length,
            command,
            truncated,
            ...(masker?.tally.size
              ? {
                  masked: {
                    columns: [...masker.maskedColumns],
                    by: tallyReport(masker.tally),
                  },
                }
              : {}),
          }
      }
    }
  }
}

/** The origin's error, its text through the detectors (it can quote the offending row). */
function originFailure(fields: NoticeFields, text: TextMasker): GatehouseError {
  const masked = (value: string | undefined) => (value === undefined ? null : text.mask(value))
  return new GatehouseError('query.failed', masked(fields.message) ?? 'The statement failed.', {
    data: { sqlState: fields.code ?? '', detail: masked(fields.detail), hint: masked(fields.hint) },
  })
}

/** A message the masker produced, framed for the decoder. */
function frameOf(bytes: Uint8Array): MessageFrame {
  return {
    phase: 'normal',
    type: String.fromCharCode(bytes[0] ?? 0),
    bytes,
    body: bytes.subarray(5),
  }
}
