/**
 * asciinema-player's browser bundle and stylesheet, imported as text (wrangler.toml
 * `[[rules]]` type Text): the console serves them to the browser, the Worker never runs them.
 */
declare module 'asciinema-player/dist/bundle/asciinema-player.min.js' {
  const script: string
  export default script
}

declare module 'asciinema-player/dist/bundle/asciinema-player.css' {
  const stylesheet: string
  export default stylesheet
}
