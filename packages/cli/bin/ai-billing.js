#!/usr/bin/env node
// The installed `ai-billing` command. A committed file, so that npm links it in a fresh clone before
// the first build; the program is dist/bin.js (built from src/bin.ts).
import "../dist/bin.js"
