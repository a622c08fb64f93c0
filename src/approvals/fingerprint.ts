/**
 * What "the same command" means for approvals. An approval covers one command exactly:
 * a retry that claims it must produce the same fingerprint. Headers that change on every
 * attempt without changing what the request does (tracing, the retry's own approval
 * header) are left out; everything else, the body included, counts.
 */
import { sha256Hex } from '../encoding.ts'
import type { Command, HttpCommand } from '../pipeline/types.ts'

/** Request headers that differ between two sends of the same request. */
const VOLATILE_HEADERS = new Set([
  'prefer',
  'date',
  'traceparent',
  'tracestate',
  'baggage',
  'x-request-id',
  'x-correlation-id',
  'x-real-ip',
  'content-length',
  'connection',
  'keep-alive',
  'te',
  'transfer-encoding',
  'host',
])
const VOLATILE_PREFIXES = ['x-gatehouse-', 'cf-', 'x-forwarded-']

/** Hex SHA-256 over a canonical rendering of the command. */
export function commandHash(command: Command): Promise<string> {
  return sha256Hex(JSON.stringify(canonicalForm(command)))
}

function canonicalForm(command: Command): unknown[] {
  if (command.kind === 'sql') return ['sql', command.via, command.text, command.params ?? null]
  if (command.kind === 'shell') {
    // The exact line, and what goes to its standard input: by digest, else by content.
    const { stdin } = command
    const input = stdin
      ? [
          stdin.bytes,
          stdin.sha256 ?? null,
          stdin.sha256 ? null : (stdin.text ?? stdin.base64 ?? null),
        ]
      : null
    return ['shell', command.via, command.text, input]
  }
  return [
    'http',
    command.method,
    command.path,
    command.query,
    stableHeaders(command),
    command.body ? [command.body.bytes, command.body.sha256 ?? null] : null,
  ]
}

function stableHeaders(command: HttpCommand): [string, string][] {
  return Object.entries(command.headers)
    .map(([name, value]): [string, string] => [name.toLowerCase(), value])
    .filter(
      ([name]) =>
        !VOLATILE_HEADERS.has(name) && !VOLATILE_PREFIXES.some((prefix) => name.startsWith(prefix))
    )
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/** Longest summary line kept in the index and shown in notifications. */
const SUMMARY_CHARS = 300

/**
 * One line a person can read: `POST /payments?x=1 (12 B body)`, the SQL or the shell
 * command line, truncated.
 */
export function commandSummary(command: Command): string {
  let line: string
  if (command.kind === 'http') {
    line = `${command.method} ${command.path}${command.query ? `?${command.query}` : ''}${
      command.body ? ` (${command.body.bytes} B body)` : ''
    }`
  } else if (command.kind === 'shell' && command.via === 'shell' && command.text === '') {
    line = 'interactive shell'
  } else line = command.text.replace(/\s+/g, ' ').trim()
  return truncate(line, SUMMARY_CHARS)
}

/** Cuts at a code point boundary, never inside a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  let end = max - 1
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return `${text.slice(0, end)}…`
}
