// Each package's `exports` hides internal/ ("./internal/*": null) and still serves its public modules.
// Needs the packages built (dist/); run by scripts/test-all.sh after the build.
import assert from "node:assert/strict"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { test } from "node:test"

const packages = Path.resolve(Path.dirname(new URL(import.meta.url).pathname), "../../packages")

for (const dir of Fs.readdirSync(packages)) {
  const manifest = JSON.parse(Fs.readFileSync(Path.join(packages, dir, "package.json"), "utf8"))
  const internal = Path.join(packages, dir, "src", "internal")
  if (!Fs.existsSync(internal)) continue
  test(`${manifest.name}: internal/ is not exported, the package itself is`, () => {
    for (const file of Fs.readdirSync(internal).filter((f) => f.endsWith(".ts"))) {
      const specifier = `${manifest.name}/internal/${file.replace(/\.ts$/, ".js")}`
      assert.throws(() => import.meta.resolve(specifier), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" }, specifier)
      assert.throws(() => import.meta.resolve(specifier.replace(/\.js$/, "")), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" })
    }
    assert.match(import.meta.resolve(manifest.name), /\/dist\/index\.js$/)
  })
}
