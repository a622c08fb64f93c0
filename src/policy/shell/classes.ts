/**
 * The vocabulary of shell classification: what policy matches on for every simple command
 * of a command line, however it arrived (the exec API, an SSH exec request, MCP).
 */
import type { ShellClass } from '../../pipeline/types.ts'

export type { ShellClass }

/**
 * Total order of riskiness, for combining what a command does with how it runs (`sudo`
 * raises anything to at least `privilege`; a `>` redirection to at least `write`) and for
 * summarising a line. Reads change nothing; signals disturb processes; writes change files;
 * network commands reach other hosts; admin changes the system; code runs what the gateway
 * cannot see; privilege runs as another user, so it outranks what it runs (a rule on
 * `privilege` then holds every command run through sudo); a terminal is all of these; and
 * what could not be parsed is the riskiest.
 */
export const SHELL_CLASS_RISK: Record<ShellClass, number> = {
  read: 0,
  process: 1,
  write: 2,
  network: 3,
  admin: 4,
  code: 5,
  privilege: 6,
  interactive: 7,
  unknown: 8,
}

/** The riskier of two classes (the first on a tie). */
export function riskier(a: ShellClass, b: ShellClass): ShellClass {
  return SHELL_CLASS_RISK[b] > SHELL_CLASS_RISK[a] ? b : a
}
