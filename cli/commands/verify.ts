/**
 * `gatehouse verify SESSION [--file export.ndjson] [--keys jwks.json]`: checks a session
 * recording on this machine. It fetches the export (or reads a downloaded one) and the
 * gateway's public signing keys (or a pinned copy), then runs the same verification as
 * the gateway, never taking the gateway's word for the verdict. Terminal recordings (SSH)
 * are downloaded part by part and hashed here against the digests the transcript names.
 *
 * Exit codes: 0 intact, 2 incomplete (cut short: verified up to its last event), 1 tampered
 * (the transcript, or a terminal recording it names).
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { z } from 'zod'
import { isManifestLine } from '../../src/evidence/manifest.ts'
import { type SigningJwk, SigningKeySet } from '../../src/evidence/signing-key.ts'
import {
  checkTerminalParts,
  recordedParts,
  type StoredPart,
  type TerminalEvidence,
} from '../../src/evidence/terminal-evidence.ts'
import {
  type Problem,
  type TranscriptVerdict,
  verifyTranscript,
} from '../../src/evidence/verify-transcript.ts'
import type { GatehouseClient } from '../client.ts'
import { contextOf } from '../context.ts'
import { CliError, print, printJson } from '../output.ts'

const SIGNING_KEYS_PATH = '/.well-known/gatehouse/signing-keys'
const EXIT_CODES: Record<TranscriptVerdict['status'], number> = {
  intact: 0,
  incomplete: 2,
  tampered: 1,
}

type VerifyOptions = { file?: string; keys?: string }

/** Adds `verify`. */
export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      'verify a session recording locally: intact (exit 0), incomplete (exit 2) or tampered (exit 1)'
    )
    .argument('<session>', 'session id')
    .option('--file <export.ndjson>', 'a downloaded export, instead of fetching it')
    .option('--keys <jwks.json>', "trust these public keys, instead of the gateway's own set")
    .action(async (session: string, options: VerifyOptions, command: Command) => {
      const { client, json } = contextOf(command)
      const [text, keys] = await Promise.all([
        options.file
          ? readText(options.file)
          : client
              .raw('GET', `/v1/admin/sessions/${encodeURIComponent(session)}/export`, {
                accept: 'application/x-ndjson',
              })
              .then((response) => response.text),
        signingKeys(client, options.keys),
      ])
      const evidence = splitExport(text)
      const verdict = await verifyTranscript({ sessionId: session, ...evidence, keys })
      const recorded = recordedParts(evidence.lines)
      const terminals = options.file ? undefined : await checkTerminals(client, session, recorded)
      if (json) printJson({ ...verdict, ...(terminals ? { terminals } : {}) })
      else {
        printVerdict(verdict)
        printTerminals(terminals, recorded.size)
      }
      const terminalsTampered = (terminals?.problems.length ?? 0) > 0
      process.exitCode = terminalsTampered ? EXIT_CODES.tampered : EXIT_CODES[verdict.status]
    })
}

/** An export is the transcript's lines, then (for a closed session) the signed manifest line. */
export function splitExport(text: string): { lines: string[]; manifest: string | undefined } {
  const lines = text.split('\n').filter((line) => line !== '')
  const last = lines.at(-1)
  if (last !== undefined && isManifestLine(last))
    return { lines: lines.slice(0, -1), manifest: last }
  return { lines, manifest: undefined }
}

const TerminalPartList = z.object({
  parts: z.array(
    z.object({
      key: z.string(),
      terminal: z.number().int().nonnegative(),
      part: z.number().int().nonnegative(),
    })
  ),
})

/**
 * Downloads every terminal part the gateway stores for the session and hashes it here;
 * undefined when the session has no terminal recording and the transcript names none.
 */
async function checkTerminals(
  client: GatehouseClient,
  session: string,
  recorded: ReadonlyMap<string, string>
): Promise<TerminalEvidence | undefined> {
  const base = `/v1/admin/sessions/${encodeURIComponent(session)}/terminal-parts`
  const listed = TerminalPartList.safeParse(await client.json<unknown>('GET', base))
  if (!listed.success) {
    throw new CliError('gateway.bad_response', `${client.gateway}${base} is not a part list.`)
  }
  if (listed.data.parts.length === 0 && recorded.size === 0) return undefined
  const stored: StoredPart[] = []
  for (const part of listed.data.parts) {
    const bytes = await client.bytes('GET', `${base}/${part.terminal}/${part.part}`, {
      accept: 'application/x-asciicast',
    })
    stored.push({ ...part, sha256: createHash('sha256').update(bytes).digest('hex') })
  }
  return checkTerminalParts(stored, recorded)
}

function printTerminals(terminals: TerminalEvidence | undefined, recorded: number): void {
  if (!terminals) {
    if (recorded > 0) {
      print(
        `Terminal recordings: ${recorded} part${recorded === 1 ? '' : 's'} named by the ` +
          'transcript, not checked (--file holds the transcript only).'
      )
    }
    return
  }
  if (terminals.problems.length === 0) {
    print(
      `Terminal recordings: all ${terminals.verified} part${terminals.verified === 1 ? '' : 's'} ` +
        'match the digests in the transcript.'
    )
    return
  }
  print(
    `Terminal recordings: TAMPERED (${terminals.verified} of ${terminals.recorded} recorded parts match):`
  )
  for (const problem of terminals.problems) print(`  ${problem}`)
}

async function signingKeys(
  client: GatehouseClient,
  file: string | undefined
): Promise<SigningJwk[]> {
  const source = file
    ? await readText(file).then((text) => parseJson(text, file))
    : await client.json<unknown>('GET', SIGNING_KEYS_PATH)
  const keys = SigningKeySet.safeParse(source)
  const from = file ?? `${client.gateway}${SIGNING_KEYS_PATH}`
  if (!keys.success) throw new CliError('verify.bad_keys', `${from} is not a JWK set.`)
  if (keys.data.length === 0) {
    throw new CliError('verify.bad_keys', `${from} holds no Ed25519 signing key.`)
  }
  return keys.data
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error)
    throw new CliError('cli.file_unreadable', `Cannot read ${path} (${reason}).`)
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new CliError('verify.bad_keys', `${path} is not JSON.`)
  }
}

function printVerdict(verdict: TranscriptVerdict): void {
  const head = `last hash ${verdict.lastHash ?? '-'}`
  switch (verdict.status) {
    case 'intact':
      print(
        `Session ${verdict.session}: intact. ${verdict.events} events, ${head}; ` +
          `the manifest is signed by key ${verdict.manifest?.kid}.`
      )
      return
    case 'incomplete':
      print(
        `Session ${verdict.session}: incomplete: ${verdict.incomplete}. ` +
          `${verdict.events} events verified, ${head}.`
      )
      return
    case 'tampered': {
      const count = verdict.problems.length
      print(
        `Session ${verdict.session}: TAMPERED, ${count} problem${count === 1 ? '' : 's'} ` +
          `in ${verdict.events} events:`
      )
      for (const problem of verdict.problems) print(`  ${describeProblem(problem)}`)
    }
  }
}

/** `modified     seq 2 (line 3): its hash no longer matches …` */
function describeProblem(problem: Problem): string {
  const where = [
    problem.seq === undefined ? '' : `seq ${problem.seq}`,
    problem.index === undefined ? '' : `(line ${problem.index + 1})`,
  ]
    .filter(Boolean)
    .join(' ')
  return `${problem.kind.padEnd(17)} ${where ? `${where}: ` : ''}${problem.detail}`
}
