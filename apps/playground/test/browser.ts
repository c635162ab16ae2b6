import { access } from 'node:fs/promises';
import { type Browser, chromium } from 'playwright-core';

/** Debian's package (`apt-get install chromium`) installs here; CHROMIUM_PATH names another build. */
const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium binary the browser tests drive: playwright-core downloads none, by design. */
export async function chromiumExecutable(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const candidates = env.CHROMIUM_PATH !== undefined && env.CHROMIUM_PATH !== '' ? [env.CHROMIUM_PATH] : CHROMIUM_CANDIDATES;
  for (const candidate of candidates) {
    try {
      await access(candidate);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(`no Chromium at ${candidates.join(' or ')}: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH`);
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumExecutable(), headless: true });
}
