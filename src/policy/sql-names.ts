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
    const name = reference.toLowerCase().replace(/"/g, '')
    const split = name.lastIndexOf('.')
    const referenceSchema = split >= 0 ? name.slice(0, split) : null
    const referenceObject = split >= 0 ? name.slice(split + 1) : name
    if (!object.test(referenceObject)) return false
    return schema === null || referenceSchema === null || schema.test(referenceSchema)
  }
}

function wildcard(text: string): RegExp {
  return new RegExp(`^${text.replace(REGEX_SPECIAL, '\\$&').replace(/\*/g, '.*')}$`)
}
