// Keeps the file named by JEST_RUNNING_SUITES_FILE listing the test files running now, one a line
// with the time each started: .ci/run prints it when a tier passes its time limit. Jest loads
// reporters without transforming them, hence plain CommonJS.
const { mkdirSync, renameSync, writeFileSync } = require('node:fs');
const { dirname, relative } = require('node:path');

class RunningSuitesReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.file = process.env.JEST_RUNNING_SUITES_FILE;
    if (this.file) mkdirSync(dirname(this.file), { recursive: true });
    /** @type {Map<string, Date>} test file path → when it started */
    this.running = new Map();
  }

  onRunStart() {
    this.write();
  }

  onTestFileStart(test) {
    this.running.set(test.path, new Date());
    this.write();
  }

  onTestFileResult(test) {
    this.running.delete(test.path);
    this.write();
  }

  onRunComplete() {
    this.running.clear();
    this.write();
  }

  write() {
    if (!this.file) return;
    const lines = [...this.running].map(
      ([path, startedAt]) => `${relative(this.rootDir, path)} (started ${startedAt.toISOString()})\n`,
    );
    // Written whole, then renamed: a reader never sees half a list.
    writeFileSync(`${this.file}.tmp`, lines.join(''));
    renameSync(`${this.file}.tmp`, this.file);
  }
}

module.exports = RunningSuitesReporter;
