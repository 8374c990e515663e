// The tests spawn the built binary: build the package (and what it references) first.
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const pkg = fileURLToPath(new URL("../../", import.meta.url))

export default function setup() {
  execFileSync("npx", ["tsc", "-b", pkg], { stdio: "inherit" })
}
