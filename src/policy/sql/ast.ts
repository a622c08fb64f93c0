/**
 * Small readers for libpg_query's JSON parse tree, where a field typed `Node` holds a
 * one-key wrapper (`{"RangeVar": {...}}`), a field of a specific type holds the bare struct,
 * and default values (0, false, empty) are left out.
 */
import type { Node } from 'libpg-query'

/** A node's own fields, whatever its type. */
export type NodeFields = Record<string, unknown>

/** The type name and fields of a wrapped node, or null when `value` is not one. */
export function unwrap(value: unknown): { type: string; fields: NodeFields } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  let found: { type: string; fields: NodeFields } | null = null
  for (const key in value) {
    if (found) return null
    const fields = (value as NodeFields)[key]
    if (!isNodeTypeName(key) || typeof fields !== 'object' || fields === null) return null
    found = { type: key, fields: fields as NodeFields }
  }
  return found
}

/** Node type names start with a capital letter; field names never do. */
function isNodeTypeName(key: string): boolean {
  const first = key.charCodeAt(0)
  return first >= 65 && first <= 90
}

/** The values of a list of `String` nodes, e.g. a qualified name: ['pg_catalog', 'now']. */
export function stringList(nodes: readonly Node[] | undefined): string[] {
  const parts: string[] = []
  for (const node of nodes ?? []) if ('String' in node) parts.push(node.String.sval ?? '')
  return parts
}

/**
 * The text of a constant (`'x'`, `1`, `on`, `true`), as Postgres would read it for a setting
 * or an option; null for anything computed.
 */
export function constantText(node: Node | undefined): string | null {
  if (!node) return null
  if ('A_Const' in node) {
    const constant = node.A_Const
    if (constant.isnull) return null
    if (constant.sval) return constant.sval.sval ?? ''
    if (constant.ival) return String(constant.ival.ival ?? 0)
    if (constant.fval) return constant.fval.fval ?? '0'
    if (constant.boolval) return constant.boolval.boolval ? 'true' : 'false'
    return null
  }
  if ('String' in node) return node.String.sval ?? ''
  if ('Integer' in node) return String(node.Integer.ival ?? 0)
  if ('Boolean' in node) return node.Boolean.boolval ? 'true' : 'false'
  if ('Float' in node) return node.Float.fval ?? '0'
  return null
}

/** A name as reported: parts joined by `.`, a part that could be misread quoted. */
export function qualifiedName(parts: readonly string[]): string {
  return parts.map(quoteIfAmbiguous).join('.')
}

function quoteIfAmbiguous(part: string): string {
  return part.includes('.') || part.includes('"') ? `"${part.replaceAll('"', '""')}"` : part
}

/** A `DefElem` option's constant text, e.g. LANGUAGE in CREATE FUNCTION or DO. */
export function optionText(options: unknown, name: string): string | undefined {
  for (const option of (options as Node[] | undefined) ?? []) {
    if ('DefElem' in option && option.DefElem.defname === name)
      return constantText(option.DefElem.arg) ?? undefined
  }
  return undefined
}

/**
 * Whether a boolean option is on. Written without a value it is; otherwise anything but an
 * explicit false counts as on, because Postgres accepts spellings this need not enumerate.
 */
export function hasOption(options: unknown, name: string): boolean {
  for (const option of (options as Node[] | undefined) ?? []) {
    if (!('DefElem' in option) || option.DefElem.defname !== name) continue
    const value = constantText(option.DefElem.arg)?.toLowerCase()
    if (value !== 'false' && value !== 'off' && value !== '0') return true
  }
  return false
}
