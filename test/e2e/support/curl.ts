/**
 * Runs a printed curl line with the real curl binary, without a shell: the line is split
 * into words here (the banner only uses single quotes), so what runs is exactly what a
 * person would paste.
 */
import { execFile } from 'node:child_process'

export type CurlResponse = { status: number; headers: Record<string, string>; body: string }

/**
 * Splits a command line into words the way sh would for the subset the banner uses:
 * whitespace separates words, single quotes keep everything literally. Anything else a
 * shell would interpret (double quotes, backslashes, `$`) is refused rather than guessed.
 */
export function splitWords(line: string): string[] {
  const words: string[] = []
  let word: string | null = null
  let quoted = false
  for (const char of line) {
    if (quoted) {
      if (char === "'") quoted = false
      else word += char
    } else if (char === "'") {
      quoted = true
      word ??= ''
    } else if (/\s/.test(char)) {
      if (word !== null) words.push(word)
      word = null
    } else if (char === '"' || char === '\\' || char === '$') {
      throw new Error(`unsupported shell syntax (${char}) in: ${line}`)
    } else {
      word = (word ?? '') + char
    }
  }
  if (quoted) throw new Error(`unterminated quote in: ${line}`)
  if (word !== null) words.push(word)
  return words
}

/** Runs `curl -i …` and parses the status line, headers and body it printed. */
export function runCurlLine(line: string): Promise<CurlResponse> {
  const [program, ...args] = splitWords(line)
  if (program !== 'curl' || !args.includes('-i')) throw new Error(`not a curl -i line: ${line}`)
  return new Promise((resolve, reject) => {
    execFile('curl', args, { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`curl failed: ${stderr || error.message}`))
      const split = stdout.indexOf('\r\n\r\n')
      const head = stdout.slice(0, split).split('\r\n')
      const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head[0] ?? '')?.[1])
      const headers: Record<string, string> = {}
      for (const header of head.slice(1)) {
        const colon = header.indexOf(':')
        headers[header.slice(0, colon).toLowerCase()] = header.slice(colon + 1).trim()
      }
      resolve({ status, headers, body: stdout.slice(split + 4) })
    })
  })
}
