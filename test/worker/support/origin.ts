/** The test origin's control API: what reached it, and holding requests open. */
import { originUrl } from './gateway.ts'

export type Arrival = {
  at: number
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  bodyBytes: number
  bodySha256: string
  body: string
}

/** Requests that reached the origin carrying `x-test-marker: <marker>`. */
export async function arrivalsWith(marker: string): Promise<Arrival[]> {
  const response = await fetch(
    `${originUrl()}/_control/arrivals?marker=${encodeURIComponent(marker)}`
  )
  return ((await response.json()) as { arrivals: Arrival[] }).arrivals
}

export async function releaseHold(key: string): Promise<void> {
  await (
    await fetch(`${originUrl()}/_control/release?key=${encodeURIComponent(key)}`)
  ).body?.cancel()
}

export function uniqueMarker(label: string): string {
  return `${label}-${crypto.randomUUID()}`
}
