/**
 * A batch of client messages (up to a Sync, Query, Flush or FunctionCall) as the pipeline
 * sees it: the SQL it would run, classified. A Parse is decided when it arrives, so the
 * text of a blocked statement never reaches the origin; an Execute is recorded with its
 * statement and bound parameters. Prepared statements and portals are remembered per
 * session, and only once the batch that made them has been forwarded.
 */
import { toBase64 } from '../../encoding.ts'
import type { SqlCommand, SqlStatement } from '../../pipeline/types.ts'
import { classifySql } from '../../policy/sql/index.ts'
import type { MessageFrame } from './codec/framer.ts'
import { decodeFrontendMessage, type FrontendMessage } from './codec/frontend.ts'
import { ProtocolError } from './codec/protocol-error.ts'
import type { Expectation } from './response-tracker.ts'

type Prepared = { text: string; statements: SqlStatement[] }

/** Per-session memory of what the client prepared and bound. */
export class ExtendedState {
  readonly statements = new Map<string, Prepared>()
  readonly portals = new Map<string, { statement: string; params: (string | null)[] }>()
}

export type BatchItem = {
  frame: MessageFrame
  message: FrontendMessage
  /** Present when this message runs SQL and so is a command of its own. */
  command?: SqlCommand
  expectation: Expectation['kind'] | null
}

export type Batch = {
  items: BatchItem[]
  commands: SqlCommand[]
  /** How the batch ended: Sync/Query/FunctionCall (answered with ReadyForQuery) or Flush. */
  end: 'ready' | 'flush'
  /** What the batch would prepare and bind, applied only if it is forwarded. */
  commit: () => void
}

export async function buildBatch(
  frames: readonly MessageFrame[],
  state: ExtendedState
): Promise<Batch> {
  const items: BatchItem[] = []
  // Seen in this batch, not yet committed to the session.
  const statements = new Map<string, Prepared>()
  const portals = new Map<string, { statement: string; params: (string | null)[] }>()
  const lookupStatement = (name: string) => statements.get(name) ?? state.statements.get(name)
  const executed = new Set<string>()

  for (const frame of frames) {
    const message = decodeFrontendMessage(frame)
    switch (message.type) {
      case 'Query': {
        const command = await sqlCommand(message.sql, 'simple')
        items.push({ frame, message, command, expectation: 'query' })
        break
      }
      case 'Parse': {
        const classified = await sqlCommand(message.query, 'extended')
        statements.set(message.statement, {
          text: message.query,
          statements: classified.statements,
        })
        items.push({ frame, message, command: classified, expectation: 'parse' })
        break
      }
      case 'Bind': {
        portals.set(message.portal, {
          statement: message.statement,
          params: message.parameters.map((value, index) =>
            recordParameter(value, formatOf(message.parameterFormats, index))
          ),
        })
        items.push({ frame, message, expectation: 'bind' })
        break
      }
      case 'Execute': {
        const portal = portals.get(message.portal) ?? state.portals.get(message.portal)
        const prepared = portal ? lookupStatement(portal.statement) : undefined
        if (portal) executed.add(portal.statement)
        const command: SqlCommand = prepared
          ? {
              kind: 'sql',
              text: prepared.text,
              statements: prepared.statements,
              params: portal?.params ?? [],
              via: 'extended',
            }
          : unknownExecute(message.portal)
        items.push({ frame, message, command, expectation: 'execute' })
        break
      }
      case 'Describe':
        items.push({
          frame,
          message,
          expectation: message.target === 'statement' ? 'describe-statement' : 'describe-portal',
        })
        break
      case 'Close':
        items.push({ frame, message, expectation: 'close' })
        break
      case 'Sync':
        items.push({ frame, message, expectation: 'sync' })
        break
      case 'Flush':
        items.push({ frame, message, expectation: null })
        break
      case 'FunctionCall':
        items.push({
          frame,
          message,
          command: functionCallCommand(message.functionOid),
          expectation: 'function',
        })
        break
      default:
        throw new ProtocolError(
          'protocol.malformed',
          `A ${message.type} message cannot appear here.`
        )
    }
  }

  const last = items.at(-1)?.message.type
  return {
    items,
    // A Parse whose statement is executed in the same batch is decided and recorded through
    // that Execute (same text, plus the bound parameters); any other Parse is its own command.
    commands: items
      .filter((item) => !(item.message.type === 'Parse' && executed.has(item.message.statement)))
      .flatMap((item) => (item.command ? [item.command] : [])),
    end: last === 'Flush' ? 'flush' : 'ready',
    commit: () => {
      for (const [name, prepared] of statements) state.statements.set(name, prepared)
      for (const [name, portal] of portals) state.portals.set(name, portal)
      for (const item of items) {
        if (item.message.type === 'Close') {
          const target = item.message.target === 'statement' ? state.statements : state.portals
          target.delete(item.message.name)
        }
      }
    },
  }
}

async function sqlCommand(text: string, via: SqlCommand['via']): Promise<SqlCommand> {
  const classification = await classifySql(text)
  return { kind: 'sql', text, statements: classification.statements, via }
}

function unknownExecute(portal: string): SqlCommand {
  return {
    kind: 'sql',
    text: `<execute portal "${portal}">`,
    statements: [
      {
        text: '',
        class: 'unknown',
        kind: 'Execute',
        writes: true,
        tables: [],
        functions: [],
        risks: ['executes a portal this gateway did not see prepared'],
      },
    ],
    via: 'extended',
  }
}

function functionCallCommand(oid: number): SqlCommand {
  return {
    kind: 'sql',
    text: `<function call oid ${oid}>`,
    statements: [
      {
        text: '',
        class: 'admin',
        kind: 'FunctionCall',
        writes: true,
        tables: [],
        functions: [`oid:${oid}`],
        risks: ['fast-path function call by OID'],
      },
    ],
    via: 'extended',
  }
}

function formatOf(formats: readonly number[], index: number): number {
  return formats.length === 0 ? 0 : formats.length === 1 ? (formats[0] ?? 0) : (formats[index] ?? 0)
}

/** Text parameters as text, binary ones as base64 with a marker. */
function recordParameter(value: Uint8Array | null, format: number): string | null {
  if (value === null) return null
  if (format === 1) return `base64:${toBase64(value)}`
  return new TextDecoder().decode(value)
}
