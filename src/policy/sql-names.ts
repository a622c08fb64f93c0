/**
 * Patterns for SQL object names in rules (`users`, `public.users`, `pg_catalog.*`,
 * `dblink*`). Without a dot a pattern names the object in any schema; with one, schema
 * and name. A reference written without a schema could resolve into any schema on the
 * search_path, so it matches a qualified pattern by name alone. Case is ignored.
 */

const REGEX_SPECIAL = /[.+^${}()|[\]\\?]/g

export type NamePattern = (name: string) => boolean

export function compileNamePattern(pattern: string): NamePattern {
  const lowered = pattern.toLowerCase()
  const dot = lowered.lastIndexOf('.')
  const schema = dot >= 0 ? wildcard(lowered.slice(0, dot)) : null
  const object = wildcard(dot >= 0 ? lowered.slice(dot + 1) : lowered)
  return (reference) => {
    const parts = splitQualifiedName(reference.toLowerCase())
    const referenceObject = parts.at(-1) ?? ''
    const referenceSchema = parts.length > 1 ? (parts.at(-2) ?? null) : null
    if (!object.test(referenceObject)) return false
    return schema === null || referenceSchema === null || schema.test(referenceSchema)
  }
}

/**
 * Splits `schema.table` into its parts. The classifier double-quotes a part that itself
 * contains a dot or a quote (`"public.users"` is one table in the default schema), so dots
 * inside quotes do not split, and `""` inside quotes is one quote.
 */
export function splitQualifiedName(name: string): string[] {
  const parts: string[] = []
  let current = ''
  let quoted = false
  for (let index = 0; index < name.length; index++) {
    const char = name[index]
    if (quoted) {
      if (char === '"' && name[index + 1] === '"') {
        current += '"'
        index++
      } else if (char === '"') quoted = false
      else current += char
    } else if (char === '"') quoted = true
    else if (char === '.') {
      parts.push(current)
      current = ''
    } else current += char
  }
  parts.push(current)
  return parts
}

function wildcard(text: string): RegExp {
  return new RegExp(`^${text.replace(REGEX_SPECIAL, '\\$&').replace(/\*/g, '.*')}$`)
}
