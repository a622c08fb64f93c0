/**
 * JSON paths as masking policies write them (`$.users[*].email`, `$..card`,
 * `$['odd key'][0]`), and a matcher a streaming rewriter can ask at every value. Only
 * what can be decided from the path so far is supported: no filters, slices or negative
 * indexes (those need values or lengths the stream has not seen yet).
 *
 * Grammar:
 *   path      = "$" segment*
 *   segment   = ".." selector-d | "." (name | "*") | "[" bracket "]"
 *   selector-d = name | "*" | "[" bracket "]"
 *   bracket   = "*" | index | 'quoted' | "quoted"
 *   name      = letters, digits, "_", "$", "-"
 *   index     = 0 | [1-9][0-9]*
 */

/** What one step of a path accepts: an object member by name, an array element, or either. */
export type JsonPathSelector =
  | { kind: 'name'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }

/** `child` matches one level down; `descendant` (`..`) any number of levels down (≥ 1). */
export type JsonPathSegment = { axis: 'child' | 'descendant'; selector: JsonPathSelector }

/** A parsed path; `text` is kept for reasons (`path:$.users[*].email`) and messages. */
export type JsonPath = { readonly text: string; readonly segments: readonly JsonPathSegment[] }

/** An object key or an array index on the way from the root to a value. */
export type JsonPathKey = string | number

/** A path that does not follow the grammar above; `offset` is where reading stopped. */
export class JsonPathSyntaxError extends Error {
  override readonly name = 'JsonPathSyntaxError'
  readonly offset: number

  constructor(text: string, offset: number, expected: string) {
    super(`JSON path ${JSON.stringify(text)}: expected ${expected} at offset ${offset}`)
    this.offset = offset
  }
}

const NAME_CHAR = /[\p{L}\p{N}_$-]/u
/** Array indexes above this are refused: no realistic body holds more elements. */
const MAX_INDEX = 2 ** 32 - 2

/** Parses a JSON path; throws a JsonPathSyntaxError naming what was expected, and where. */
export function parseJsonPath(text: string): JsonPath {
  if (text[0] !== '$') throw new JsonPathSyntaxError(text, 0, '"$"')
  const segments: JsonPathSegment[] = []
  let at = 1
  while (at < text.length) {
    if (text.startsWith('..', at)) {
      at += 2
      if (text[at] === '[') {
        const [selector, next] = readBracket(text, at)
        segments.push({ axis: 'descendant', selector })
        at = next
      } else {
        const [selector, next] = readDotted(text, at)
        segments.push({ axis: 'descendant', selector })
        at = next
      }
    } else if (text[at] === '.') {
      const [selector, next] = readDotted(text, at + 1)
      segments.push({ axis: 'child', selector })
      at = next
    } else if (text[at] === '[') {
      const [selector, next] = readBracket(text, at)
      segments.push({ axis: 'child', selector })
      at = next
    } else {
      throw new JsonPathSyntaxError(text, at, '".", ".." or "["')
    }
  }
  return { text, segments }
}

function readDotted(text: string, at: number): [JsonPathSelector, number] {
  if (text[at] === '*') return [{ kind: 'wildcard' }, at + 1]
  let end = at
  while (end < text.length && NAME_CHAR.test(text[end] as string)) end++
  if (end === at) throw new JsonPathSyntaxError(text, at, 'a member name or "*"')
  return [{ kind: 'name', name: text.slice(at, end) }, end]
}

/** Reads `[…]` starting at the `[`; returns the selector and the offset after `]`. */
function readBracket(text: string, open: number): [JsonPathSelector, number] {
  let at = open + 1
  let selector: JsonPathSelector
  const first = text[at]
  if (first === '*') {
    selector = { kind: 'wildcard' }
    at++
  } else if (first === "'" || first === '"') {
    let name = ''
    at++
    for (;;) {
      const char = text[at]
      if (char === undefined) throw new JsonPathSyntaxError(text, at, `closing ${first}`)
      if (char === first) break
      if (char === '\\') {
        const escaped = text[at + 1]
        if (escaped !== first && escaped !== '\\') {
          throw new JsonPathSyntaxError(text, at + 1, `${first} or \\ after \\`)
        }
        name += escaped
        at += 2
      } else {
        name += char
        at++
      }
    }
    selector = { kind: 'name', name }
    at++
  } else {
    const digits = /^(0|[1-9][0-9]*)/.exec(text.slice(at))?.[0]
    if (digits === undefined) {
      const what =
        first === '-'
          ? 'a non-negative index (negative indexes cannot be streamed)'
          : 'an index, "*" or a quoted name'
      throw new JsonPathSyntaxError(text, at, what)
    }
    const index = Number(digits)
    if (index > MAX_INDEX) throw new JsonPathSyntaxError(text, at, `an index ≤ ${MAX_INDEX}`)
    selector = { kind: 'index', index }
    at += digits.length
  }
  if (text[at] !== ']') throw new JsonPathSyntaxError(text, at, '"]"')
  return [selector, at + 1]
}

/** Where matching stands at one value of the document. */
export interface JsonPathState {
  /** The first path (by position in the compiled list) that selects this value, or -1. */
  readonly selected: number
  /** No path can select anything below this value: the caller may stop stepping. */
  readonly dead: boolean
}

/** Steps from a value to one of its children; start at `root` for each top-level value. */
export interface JsonPathMatcher {
  readonly root: JsonPathState
  step(state: JsonPathState, key: JsonPathKey): JsonPathState
  /**
   * UTF-8 lengths of the member names the paths mention: a name of another length steps
   * like any unmentioned name, so a streaming caller need not decode it.
   */
  readonly nameByteLengths: ReadonlySet<number>
  /** Steps by a member name no path mentions. */
  stepOtherName(state: JsonPathState): JsonPathState
}

/** States interned past this many are computed afresh each time instead of cached. */
const MAX_CACHED_STATES = 4096

/**
 * Compiles paths into a lazily built DFA: a state is the set of (path, segments matched)
 * positions, and transitions are cached per state for each name and index the paths
 * mention plus one "any other name" and one "any other index" class, so the cache stays
 * bounded whatever keys the data holds and a step is usually one Map lookup.
 */
export function compileJsonPaths(paths: readonly JsonPath[]): JsonPathMatcher {
  const segmentAt: (JsonPathSegment | null)[] = []
  const pathAt: number[] = []
  const starts: number[] = []
  const names = new Set<string>()
  const indexes = new Set<number>()
  paths.forEach((path, pathIndex) => {
    starts.push(segmentAt.length)
    for (const segment of path.segments) {
      segmentAt.push(segment)
      pathAt.push(pathIndex)
      if (segment.selector.kind === 'name') names.add(segment.selector.name)
      if (segment.selector.kind === 'index') indexes.add(segment.selector.index)
    }
    segmentAt.push(null)
    pathAt.push(pathIndex)
  })
  const interned = new Map<string, DfaState>()

  function stateOf(positions: number[]): DfaState {
    const key = positions.join(',')
    const known = interned.get(key)
    if (known) return known
    let selected = -1
    let dead = true
    for (const position of positions) {
      if (segmentAt[position] === null) {
        if (selected === -1) selected = pathAt[position] as number
      } else {
        dead = false
      }
    }
    const state = new DfaState(positions, selected, dead)
    if (interned.size < MAX_CACHED_STATES) interned.set(key, state)
    return state
  }

  /** `key` null stands for any name (or index) no path mentions. */
  function advance(state: DfaState, isIndex: boolean, key: JsonPathKey | null): DfaState {
    const next = new Set<number>()
    for (const position of state.positions) {
      const segment = segmentAt[position]
      if (!segment) continue
      if (segment.axis === 'descendant') next.add(position)
      const { selector } = segment
      if (
        selector.kind === 'wildcard' ||
        (selector.kind === 'name' && !isIndex && selector.name === key) ||
        (selector.kind === 'index' && isIndex && selector.index === key)
      ) {
        next.add(position + 1)
      }
    }
    return stateOf([...next].sort((a, b) => a - b))
  }

  const cacheable = (state: DfaState) => interned.get(state.positions.join(',')) === state
  const dead = stateOf([])

  const encoder = new TextEncoder()
  const otherName = (state: DfaState) => {
    state.otherName ??= advance(state, false, null)
    return state.otherName
  }

  return {
    root: stateOf(starts),
    nameByteLengths: new Set([...names].map((name) => encoder.encode(name).length)),
    stepOtherName: (from) => ((from as DfaState).dead ? dead : otherName(from as DfaState)),
    step(from: JsonPathState, key: JsonPathKey): JsonPathState {
      const state = from as DfaState
      if (state.dead) return dead
      if (typeof key === 'number') {
        if (!indexes.has(key)) {
          state.otherIndex ??= advance(state, true, null)
          return state.otherIndex
        }
        let next = state.byIndex.get(key)
        if (!next) {
          next = advance(state, true, key)
          if (cacheable(state)) state.byIndex.set(key, next)
        }
        return next
      }
      if (!names.has(key)) return otherName(state)
      let next = state.byName.get(key)
      if (!next) {
        next = advance(state, false, key)
        if (cacheable(state)) state.byName.set(key, next)
      }
      return next
    },
  }
}

class DfaState implements JsonPathState {
  otherName: DfaState | undefined
  otherIndex: DfaState | undefined
  readonly byName = new Map<string, DfaState>()
  readonly byIndex = new Map<number, DfaState>()

  readonly positions: readonly number[]
  readonly selected: number
  readonly dead: boolean

  constructor(positions: readonly number[], selected: number, dead: boolean) {
    this.positions = positions
    this.selected = selected
    this.dead = dead
  }
}

/** Which path (index into the compiled list) selects the value at `keys`, or -1. */
export function selectingPath(matcher: JsonPathMatcher, keys: readonly JsonPathKey[]): number {
  let state = matcher.root
  for (const key of keys) state = matcher.step(state, key)
  return state.selected
}
