/**
 * How fast the local simulators under `wrangler dev` store things, measured through the
 * baseline Worker (bench/passthrough): the cost floor every write-ahead design pays here.
 * With one writer a put's latency shows; with several, whether the simulator runs puts in
 * parallel or one at a time (then puts/s caps every session's statements/s together).
 */
export type StorageRate = {
  count: number
  writers: number
  millisPerOp: number
  opsPerSecond: number
}
export type StorageFloor = { r2Put: StorageRate[]; d1Read: StorageRate[] }

const COUNT = 400

export async function benchStorageFloor(port: number): Promise<StorageFloor> {
  const rate = async (op: 'r2put' | 'd1read', writers: number): Promise<StorageRate> => {
    const url = `http://127.0.0.1:${port}/__storage?op=${op}&count=${COUNT}&writers=${writers}`
    const response = await fetch(url)
    if (!response.ok)
      throw new Error(`${url} answered ${response.status}: ${await response.text()}`)
    const { millis } = (await response.json()) as { millis: number }
    return {
      count: COUNT,
      writers,
      millisPerOp: round((millis * writers) / COUNT),
      opsPerSecond: round((COUNT / millis) * 1000),
    }
  }
  // Warm both paths once so the first measurement is not paying for set-up.
  await rate('r2put', 1)
  await rate('d1read', 1)
  return {
    r2Put: [await rate('r2put', 1), await rate('r2put', 4)],
    d1Read: [await rate('d1read', 1), await rate('d1read', 4)],
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
