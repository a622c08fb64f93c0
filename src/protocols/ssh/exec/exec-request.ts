/** The exec API's request body (also the MCP `exec` tool's arguments). */
import { z } from 'zod'

/** A command line, at most (the shell parser refuses longer ones too). */
export const MAX_COMMAND_CHARS = 64 * 1024
/** stdin sent with a command, at most. */
export const MAX_STDIN_CHARS = 1024 * 1024
/** Without `timeoutSeconds` or a connection default. */
export const DEFAULT_EXEC_TIMEOUT_SECONDS = 60

export const ExecRequest = z
  .object({
    command: z.string().min(1).max(MAX_COMMAND_CHARS),
    /** Text written to the command's stdin, then end of file. */
    stdin: z.string().max(MAX_STDIN_CHARS).optional(),
    /** After this the command is killed (SIGKILL) and its output so far returned. */
    timeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  })
  .strict()
export type ExecRequest = z.infer<typeof ExecRequest>

/** What a finished command returned (the JSON response). */
export type ExecResult = {
  exitCode: number | null
  /** The signal that ended it (`KILL`, `TERM`, …), when one did. */
  signal: string | null
  stdout: string
  stderr: string
  timedOut: boolean
  /** True when stdout or stderr went past what the JSON response holds. */
  truncated: boolean
  masked?: { by: string; count: number }[]
}
