/** The API key lives in sessionStorage: kept across reloads of this tab, gone when the browser session ends. */
const STORAGE_KEY = 'magicvideo.apiKey';

export function readSessionKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function saveSessionKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetSessionKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
