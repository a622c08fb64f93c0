/**
 * The console's terminal player: asciinema-player (Apache-2.0, by the asciinema project),
 * served from the Worker itself so the session page loads script only from 'self', plus a
 * few lines that start one player per recording the page lists. The player renders with
 * a terminal emulator compiled to WebAssembly, hence 'wasm-unsafe-eval' (compiling
 * WebAssembly, not evaluating strings as script).
 */
/// <reference path="./terminal-player-assets.d.ts" />

import PLAYER_CSS from 'asciinema-player/dist/bundle/asciinema-player.css'
import PLAYER_SCRIPT from 'asciinema-player/dist/bundle/asciinema-player.min.js'
import type { Context } from 'hono'
import { grantPageSources } from '../approvals/page/html-response.ts'

/** Where the session page loads them from (console routes, behind the console sign-in). */
export const TERMINAL_ASSETS = {
  playerScript: '/ui/assets/asciinema-player.min.js',
  playerStylesheet: '/ui/assets/asciinema-player.css',
  startScript: '/ui/assets/terminal-player.js',
} as const

/** Elements carrying this attribute become players of the asciicast at its URL. */
export const CAST_ATTRIBUTE = 'data-terminal-cast'

/**
 * Starts a player in every element naming a recording. Long idle stretches are cut to
 * two seconds, as a responder wants to see what happened, not wait through it.
 */
const START_SCRIPT = `'use strict';
for (const element of document.querySelectorAll('[${CAST_ATTRIBUTE}]')) {
  AsciinemaPlayer.create(element.getAttribute('${CAST_ATTRIBUTE}'), element, {
    fit: 'width',
    idleTimeLimit: 2,
    preload: true,
    terminalFontSize: 'small',
  });
}
`

const ASSETS: Record<string, { body: string; type: string }> = {
  'asciinema-player.min.js': { body: PLAYER_SCRIPT, type: 'text/javascript; charset=utf-8' },
  'asciinema-player.css': { body: PLAYER_CSS, type: 'text/css; charset=utf-8' },
  'terminal-player.js': { body: START_SCRIPT, type: 'text/javascript; charset=utf-8' },
}

/** The named asset as a response, or undefined for a name that is not one. */
export function terminalAsset(name: string): Response | undefined {
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined
  if (!asset) return undefined
  return new Response(asset.body, { headers: { 'content-type': asset.type } })
}

/** Lets this page run the player: its script and stylesheet, and fetching recordings. */
export function grantTerminalPlayer(c: Context): void {
  grantPageSources(c, {
    script: ["'self'", "'wasm-unsafe-eval'"],
    style: ["'self'"],
    connect: ["'self'"],
  })
}
