/**
 * `gatehouse lock|unlock|locks`: containment. A locked agent, user, agent token or
 * connection has all its traffic refused until unlocked, and its open sessions are
 * killed at once. (`gatehouse sessions kill ID` ends one live session.)
 */
import type { Command } from 'commander'
import { contextOf } from '../context.ts'
import { formatTime, print, printJson, printTable, usageError } from '../output.ts'

/** A lock as the admin API shows it. */
export type LockView = { subject: string; reason: string; lockedBy: string; lockedAt: number }

/** A kill as the admin API reports it (POST /v1/admin/sessions/:id/kill). */
export type KillView = {
  sessionId: string
  first: boolean
  kill: { sessionId: string; by: string; reason: string; at: number }
  woken: number
}

const SUBJECT = /^(agent|user|token|connection):\S/

/** Adds `lock`, `unlock` and `locks`. */
export function registerContainmentCommands(program: Command): void {
  program
    .command('lock')
    .description('refuse all traffic of a subject until unlocked, and kill its open sessions')
    .argument(
      '<subject>',
      'agent:<name>, user:<subject or e-mail>, token:<id> or connection:<name>'
    )
    .option('--reason <text>', 'why (recorded; never shown to the locked caller)')
    .action(async (subject: string, options: { reason?: string }, command: Command) => {
      checkSubject(subject)
      const { client, json } = contextOf(command)
      const result = await client.json<{ lock: LockView; created: boolean; killed: KillView[] }>(
        'POST',
        '/v1/admin/locks',
        { json: { subject, ...(options.reason ? { reason: options.reason } : {}) } }
      )
      if (json) return printJson(result)
      const { lock } = result
      print(
        result.created
          ? `Locked ${lock.subject}: its traffic is refused until \`gatehouse unlock ${lock.subject}\`.`
          : `${lock.subject} was already locked (by ${lock.lockedBy}, ${formatTime(lock.lockedAt)}).`
      )
      const killed = result.killed.filter((kill) => kill.first)
      if (killed.length > 0) {
        print(`Killed ${killed.length} open session(s):`)
        for (const kill of killed) print(`  ${kill.sessionId}`)
      }
    })

  program
    .command('unlock')
    .description('let a locked subject through again')
    .argument('<subject>', 'as it was locked, e.g. agent:billing-bot')
    .action(async (subject: string, _options: object, command: Command) => {
      checkSubject(subject)
      const { client, json } = contextOf(command)
      const result = await client.json<{ unlocked: LockView }>('DELETE', '/v1/admin/locks', {
        json: { subject },
      })
      if (json) return printJson(result)
      print(`Unlocked ${result.unlocked.subject}.`)
    })

  program
    .command('locks')
    .description('list locked subjects')
    .action(async (_options: object, command: Command) => {
      const { client, json } = contextOf(command)
      const { locks } = await client.json<{ locks: LockView[] }>('GET', '/v1/admin/locks')
      if (json) return printJson({ locks })
      if (locks.length === 0) return print('Nothing is locked.')
      printTable(locks, [
        { header: 'SUBJECT', value: (row) => row.subject },
        { header: 'LOCKED', value: (row) => formatTime(row.lockedAt) },
        { header: 'BY', value: (row) => row.lockedBy },
        { header: 'REASON', value: (row) => row.reason },
      ])
    })
}

/** `gatehouse sessions kill ID [--reason]`, added to the `sessions` command. */
export function registerKillCommand(sessions: Command): void {
  sessions
    .command('kill')
    .description('end a live session at once (an open tunnel closes, a held command is refused)')
    .argument('<id>', 'session id, as `sessions list` or the client notice shows it')
    .option('--reason <text>', 'why (recorded; never shown to the killed caller)')
    .action(async (id: string, options: { reason?: string }, command: Command) => {
      const { client, json } = contextOf(command)
      const result = await client.json<KillView>(
        'POST',
        `/v1/admin/sessions/${encodeURIComponent(id)}/kill`,
        { json: options.reason ? { reason: options.reason } : {} }
      )
      if (json) return printJson(result)
      if (!result.first) {
        return print(
          `Session ${result.sessionId} was already killed by ${result.kill.by} at ${formatTime(result.kill.at)}.`
        )
      }
      print(
        result.woken > 0
          ? `Killed session ${result.sessionId}; it is ending now.`
          : `Killed session ${result.sessionId}; no live connection of it was listening (it may have just ended).`
      )
    })
}

function checkSubject(subject: string): void {
  if (!SUBJECT.test(subject)) {
    throw usageError(
      `the subject must be agent:<name>, user:<subject or e-mail>, token:<id> or connection:<name> (got "${subject}")`
    )
  }
}
