/**
 * Everything the CLI prints: human tables and lines on stdout, `--json` documents, and
 * errors on stderr as `error: <code>: <message>`. Secrets never pass through here except
 * the freshly minted agent token, which `token create` prints on purpose.
 */
import { GatewayError, GatewayUnreachableError } from './client.ts'

/** Writes one line (or several) to stdout. */
export function print(text = ''): void {
  process.stdout.write(`${text}\n`)
}

/** Writes text exactly as given (a policy's source, a transcript's NDJSON). */
export function printRaw(text: string): void {
  process.stdout.write(text)
}

/** Machine output: one JSON document, pretty-printed. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** A notice that is not the command's result (warnings, hints): stderr, so pipes stay clean. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`)
}

export type Column<T> = {
  header: string
  value: (row: T) => string
}

/** A plain-text table with a header row; columns are padded to their widest cell. */
export function printTable<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
  const cells = rows.map((row) => columns.map((column) => column.value(row)))
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((row) => row[index]?.length ?? 0))
  )
  const line = (values: readonly string[]) =>
    values
      .map((value, index) =>
        index === values.length - 1 ? value : value.padEnd(widths[index] ?? 0)
      )
      .join('  ')
      .trimEnd()
  print(line(columns.map((column) => column.header)))
  for (const row of cells) print(line(row))
}

/** Unix milliseconds as `2026-11-23 09:20:11Z` (UTC, to the second). */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-'
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`
}

/** A zod issue from the gateway or from local validation. */
export type Issue = { path: string; message: string }

export function isIssueList(value: unknown): value is Issue[] {
  return (
    Array.isArray(value) &&
    value.every(
      (issue) =>
        typeof issue === 'object' &&
        issue !== null &&
        typeof issue.path === 'string' &&
        typeof issue.message === 'string'
    )
  )
}

/** Prints `error: <code>: <message>` and, for invalid documents, one `path: message` per issue. */
export function printError(code: string, message: string, issues: readonly Issue[] = []): void {
  note(`error: ${code}: ${message}`)
  for (const issue of issues) note(`  ${issue.path || '(root)'}: ${issue.message}`)
}

/** A failure found by the CLI itself: exit 2 for usage mistakes, 1 for everything else. */
export class CliError extends Error {
  override readonly name = 'CliError'
  readonly code: string
  readonly exitCode: number
  readonly issues: readonly Issue[]

  constructor(
    code: string,
    message: string,
    options: { exitCode?: number; issues?: Issue[] } = {}
  ) {
    super(message)
    this.code = code
    this.exitCode = options.exitCode ?? 1
    this.issues = options.issues ?? []
  }
}

/** Hints for refusals a person can fix from where they sit. */
const HINTS: Record<string, string> = {
  'auth.missing_token': 'Pass --token or set GATEHOUSE_TOKEN (npm start prints one).',
  'auth.invalid_token': 'Check --token / GATEHOUSE_TOKEN: the gateway does not know this token.',
  'auth.malformed_token': 'Check --token / GATEHOUSE_TOKEN: it must be a single token, no spaces.',
  'auth.expired_token': 'Mint a new one with `gatehouse token create`.',
  'auth.revoked_token': 'Mint a new one with `gatehouse token create`.',
  'admin.forbidden': 'This command needs the admin token (or an OIDC token in an admin group).',
}

/** Reports any error a command threw and returns the process exit code. */
export function reportFailure(error: unknown): number {
  if (error instanceof GatewayError) {
    const issues =
      typeof error.data === 'object' && error.data !== null && 'issues' in error.data
        ? error.data.issues
        : undefined
    if (isIssueList(issues) && issues.length > 0) {
      printError(error.code, withoutIssueList(error.message, issues), issues)
    } else {
      printError(error.code, error.message)
    }
    const hint = HINTS[error.code]
    if (hint) note(`hint: ${hint}`)
    return 1
  }
  if (error instanceof GatewayUnreachableError) {
    printError(error.code, error.message)
    note(
      'hint: Is it running? Start one with `npm start`, or point --gateway / GATEHOUSE_URL at it.'
    )
    return 1
  }
  if (error instanceof CliError) {
    printError(error.code, error.message, error.issues)
    return error.exitCode
  }
  printError(
    'cli.internal',
    error instanceof Error ? (error.stack ?? error.message) : String(error)
  )
  return 1
}

/**
 * The gateway's message for an invalid document ends with the issues joined by `; `;
 * since they are printed one per line, keep only the summary before them.
 */
function withoutIssueList(message: string, issues: readonly Issue[]): string {
  const joined = issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ')
  return message.endsWith(`: ${joined}`) ? message.slice(0, -(joined.length + 2)) : message
}

/** A mistake in how the command was called (exit code 2, like commander's own). */
export function usageError(message: string): CliError {
  return new CliError('usage', message, { exitCode: 2 })
}
