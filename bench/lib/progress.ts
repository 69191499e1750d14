/** Progress on stderr, with the seconds since the script started (how long each step takes). */
export function progressLog(name: string): (message: string) => void {
  const started = performance.now();
  return (message) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
    process.stderr.write(`[${name} ${seconds} s] ${message}\n`);
  };
}
