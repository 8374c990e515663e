// The closing line of `npm test` counts every failure: runs vitest with scripts/vitest-counter.mjs on
// the fixtures, then scripts/count-results.mjs over them. Run by scripts/test-all.sh (`node --test`).
import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { test } from "node:test"
import { promisify } from "node:util"

const run = promisify(execFile)
const here = Path.dirname(new URL(import.meta.url).pathname)
const scripts = Path.resolve(here, "..")
const fixture = (name) => Path.join(here, "fixtures", name)

const vitest = async (dir) => {
  // vitest exits 1 on the failing fixtures; what counts is the file the reporter writes.
  await run(process.execPath, [
    Path.resolve(scripts, "../node_modules/vitest/vitest.mjs"),
    "run",
    "--reporter=dot",
    `--reporter=${Path.join(scripts, "vitest-counter.mjs")}`
  ], { cwd: dir }).catch((e) => e)
}

const count = async (...dirs) => {
  const result = await run(process.execPath, [Path.join(scripts, "count-results.mjs"), ...dirs])
    .then((r) => ({ ...r, code: 0 }), (e) => e)
  return { code: result.code, lines: result.stdout.trim().split("\n") }
}

// One vitest run per fixture, all at once: the tests below only read their results.
const ran = Promise.all(["passing", "unhandled", "broken"].map((name) => vitest(fixture(name))))

test("a passing run: counted, exit 0", async () => {
  await ran
  const { code, lines } = await count(fixture("passing"))
  assert.equal(lines.at(-1), "1 passed, 0 failed")
  assert.equal(code, 0)
})

test("an unhandled error, with every test passing, is a failure and exits 1", async () => {
  await ran
  const { code, lines } = await count(fixture("unhandled"))
  assert.equal(lines.at(-1), "2 passed, 1 failed")
  assert.match(lines.join("\n"), /unhandled error: fixture: nobody handles this/)
  assert.equal(code, 1)
})

test("a file that does not load and a failing beforeAll are failures", async () => {
  await ran
  const { code, lines } = await count(fixture("broken"))
  assert.equal(lines.at(-1), "0 passed, 2 failed")
  assert.match(lines.join("\n"), /load\.fixture\.mjs: Error: fixture: this file does not load|load\.fixture\.mjs/)
  assert.equal(code, 1)
})

test("a package whose vitest run wrote no results is a failure", async () => {
  await ran
  const crashed = Fs.mkdtempSync(Path.join(Os.tmpdir(), "crashed-"))
  const { code, lines } = await count(fixture("passing"), crashed)
  assert.equal(lines.at(-1), "1 passed, 1 failed")
  assert.match(lines.join("\n"), /no results: its vitest run crashed/)
  assert.equal(code, 1)
  Fs.rmSync(crashed, { recursive: true })
})
