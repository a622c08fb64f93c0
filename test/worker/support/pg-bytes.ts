/** Building Postgres wire bytes by hand in codec tests: strings, big-endian integers, messages. */

const text = new TextEncoder()

/** Strings (UTF-8) and byte arrays, back to back. */
export function bytes(...parts: (string | number[])[]): Uint8Array {
  return Uint8Array.from(
    parts.flatMap((part) => [...(typeof part === 'string' ? text.encode(part) : part)])
  )
}

export function int32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]
}

export function int16(value: number): number[] {
  return [(value >>> 8) & 0xff, value & 0xff]
}

/** A typed (normal-phase) message with a correct length around `body`. */
export function message(type: string, ...body: (string | number[])[]): Uint8Array {
  const payload = bytes(...body)
  return bytes(type, int32(payload.length + 4), [...payload])
}
