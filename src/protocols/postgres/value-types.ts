/**
 * Result values for the JSON API: Postgres text format turned into JSON by type OID
 * (pg_type.dat). Integers that JSON numbers cannot hold exactly (int8, numeric) stay
 * strings; json and jsonb are parsed; anything unknown is its text.
 */

const TYPE_NAMES: Record<number, string> = {
  16: 'bool',
  17: 'bytea',
  18: 'char',
  19: 'name',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  26: 'oid',
  114: 'json',
  700: 'float4',
  701: 'float8',
  1042: 'bpchar',
  1043: 'varchar',
  1082: 'date',
  1083: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  1186: 'interval',
  1700: 'numeric',
  2950: 'uuid',
  3802: 'jsonb',
}

export function typeName(oid: number): string {
  return TYPE_NAMES[oid] ?? `oid:${oid}`
}

const decoder = new TextDecoder()

export function jsonValue(oid: number, value: Uint8Array | null): unknown {
  if (value === null) return null
  const text = decoder.decode(value)
  switch (oid) {
    // A masked value no longer reads as its type: it stays text.
    case 16:
      return text === 't' ? true : text === 'f' ? false : text
    case 21:
    case 23:
    case 26:
      return /^-?\d+$/.test(text) ? Number(text) : text
    case 700:
    case 701: {
      const number = Number(text)
      // NaN and ±Infinity have no JSON number; keep Postgres's spelling.
      return Number.isFinite(number) ? number : text
    }
    case 114:
    case 3802:
      try {
        return JSON.parse(text)
      } catch {
        return text
      }
    default:
      return text
  }
}
