// A vitest reporter for `npm test` (scripts/test-all.sh): writes `.vitest-results.json` in the project
// root with every way a run can fail, not only failed tests. vitest's own JSON reporter leaves out the
// "Unhandled Errors" section (e.g. `[vitest-worker]: Timeout calling "onTaskUpdate"`), so a run could
// print errors, exit 1, and still be counted "0 failed". scripts/count-results.mjs adds these up.
//   vitest run --reporter=default --reporter=<repo>/scripts/vitest-counter.mjs
import * as Fs from "node:fs"
import * as Path from "node:path"

/** The file a run writes, relative to the vitest project root (the package directory). */
export const resultsFile = ".vitest-results.json"

const message = (error) => String(error?.message ?? error).split("\n")[0].slice(0, 300)

export default class CounterReporter {
  onInit(vitest) {
    this.root = vitest.config.root
    this.file = Path.join(this.root, resultsFile)
    // A run that crashes before its end leaves no stale file behind to be counted as a success.
    Fs.rmSync(this.file, { force: true })
  }

  onTestRunEnd(testModules, unhandledErrors, reason) {
    let passed = 0
    let failed = 0
    let skipped = 0
    const failedModules = []
    const failedTests = []
    for (const module of testModules) {
      let failedHere = 0
      for (const test of module.children.allTests()) {
        const result = test.result()
        if (result.state === "passed") passed++
        else if (result.state === "failed") {
          failedHere++
          // Named in the closing lines, so a CI log that keeps only its tail still says what failed.
          failedTests.push({
            file: Path.relative(this.root, module.moduleId),
            name: test.fullName,
            errors: (result.errors ?? []).map(message)
          })
        } else skipped++
      }
      failed += failedHere
      // A file that did not load, or whose hooks failed, without a failed test to show for it.
      const errors = [...module.errors(), ...[...module.children.allSuites()].flatMap((s) => s.errors())]
      if (failedHere === 0 && (module.state() === "failed" || errors.length > 0)) {
        failedModules.push({ file: Path.relative(this.root, module.moduleId), errors: errors.map(message) })
      }
    }
    const results = {
      passed,
      failed,
      skipped,
      failedModules,
      failedTests,
      unhandledErrors: unhandledErrors.map(message),
      reason
    }
    Fs.writeFileSync(this.file, JSON.stringify(results, null, 2) + "\n")
  }
}
