import { useEffect, useState } from 'preact/hooks';

/** The current time, re-read every `intervalMs` while `ticking`: drives the elapsed times of running stages. */
export function useNow(intervalMs: number, ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return undefined;
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, ticking]);
  return ticking ? now : Date.now();
}
