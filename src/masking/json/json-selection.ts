/**
 * Where the streaming rewriter stands in the document, as far as paths care: the stack of
 * open containers with each one's path state and next array index, which rule selects
 * the value being read, and the selection a masked container imposes on all inside it.
 */
import { MAX_JSON_DEPTH } from './json-grammar.ts'
import type { JsonPathMatcher, JsonPathState } from './json-path.ts'

export const OBJECT = 1
export const ARRAY = 2

/** A member name that no path mentions (known without decoding it). */
export const OTHER_NAME: unique symbol = Symbol('other name')

/** A position no path can select, nor anything below it. */
const NOWHERE: JsonPathState = { selected: -1, dead: true }

export class JsonSelection {
  readonly #matcher: JsonPathMatcher | null
  /** Open containers; index 0 is the top level. */
  depth = 0
  readonly #kinds = new Uint8Array(MAX_JSON_DEPTH + 1)
  readonly #indexes = new Float64Array(MAX_JSON_DEPTH + 1)
  readonly #states: JsonPathState[] = [NOWHERE]
  /** The path state of the value after the member name just read. */
  #keyState = NOWHERE
  /** The path state of the value being read (kept for `open`). */
  #valueState = NOWHERE
  /** The rule selecting the container being read (all inside is masked by it), or -1. */
  #outer = -1
  #outerDepth = 0

  constructor(matcher: JsonPathMatcher | null) {
    this.#matcher = matcher
  }

  /** Whether the innermost open container is an object. */
  inObject(): boolean {
    return this.#kinds[this.depth] === OBJECT
  }

  /** A value starts here: returns the rule (index into the paths) selecting it, or -1. */
  enterValue(): number {
    const depth = this.depth
    const inArray = this.#kinds[depth] === ARRAY
    let index = 0
    if (inArray) {
      index = this.#indexes[depth] as number
      this.#indexes[depth] = index + 1
    }
    if (this.#outer >= 0 || this.#matcher === null) {
      this.#valueState = NOWHERE
      return this.#outer
    }
    let state = this.#keyState
    if (depth === 0) state = this.#matcher.root
    else if (inArray) {
      const parent = this.#states[depth] as JsonPathState
      state = parent.dead ? NOWHERE : this.#matcher.step(parent, index)
    }
    this.#valueState = state
    return state.selected
  }

  /** The value just entered is a container; false when nesting would exceed the cap. */
  open(kind: number, selection: number): boolean {
    const depth = this.depth + 1
    if (depth > MAX_JSON_DEPTH) return false
    this.depth = depth
    this.#kinds[depth] = kind
    this.#indexes[depth] = 0
    this.#states[depth] = this.#valueState
    if (selection >= 0 && this.#outer < 0) {
      this.#outer = selection
      this.#outerDepth = depth
    }
    return true
  }

  /** Closes the innermost container; false when it is not of `kind`. */
  close(kind: number): boolean {
    if (this.#kinds[this.depth] !== kind) return false
    if (this.depth === this.#outerDepth) {
      this.#outer = -1
      this.#outerDepth = 0
    }
    this.depth--
    return true
  }

  /** Whether the member name about to be read decides which rule selects its value. */
  keyMatters(): boolean {
    return this.#outer < 0 && !(this.#states[this.depth] as JsonPathState).dead
  }

  /**
   * Whether a member name of this many UTF-8 bytes (unescaped) could be one a path
   * mentions; if not, `readKey(OTHER_NAME)` is all it takes, with no decoding.
   */
  mayBeNamed(byteLength: number): boolean {
    return this.#matcher?.nameByteLengths.has(byteLength) ?? false
  }

  /** Notes the member name read: a string, OTHER_NAME, or null when it does not matter. */
  readKey(name: string | typeof OTHER_NAME | null): void {
    const container = this.#states[this.depth] as JsonPathState
    if (name === null || this.#matcher === null || this.#outer >= 0 || container.dead) {
      this.#keyState = NOWHERE
    } else {
      this.#keyState =
        name === OTHER_NAME
          ? this.#matcher.stepOtherName(container)
          : this.#matcher.step(container, name)
    }
  }
}
