import type { VideoResource } from '@magicvideo/shared/http-schemas';

const PLAYABLE_TYPES: Partial<Record<string, string>> = { mp4: 'video/mp4', webm: 'video/webm' };

/** The finished video inline (every playable format as a <source>, the browser picks) and a download link per format. */
export function VideoResult({ result }: { result: NonNullable<VideoResource['result']> }) {
  const playable = result.videos.filter((video) => PLAYABLE_TYPES[video.format] !== undefined);
  return (
    <section aria-labelledby="result-heading">
      <h3 id="result-heading">Video</h3>
      {playable.length > 0 && (
        <video class="result-video" controls loop muted playsInline autoplay aria-label="The generated video">
          {playable.map((video) => (
            <source key={video.format} src={video.url} type={PLAYABLE_TYPES[video.format]} />
          ))}
        </video>
      )}
      <ul class="downloads">
        {result.videos.map((video) => (
          <li key={video.format}>
            <a href={video.url} download data-format={video.format}>
              Download {video.format.toUpperCase()}
            </a>{' '}
            <small>link expires {new Date(video.expires_at).toLocaleString()}</small>
          </li>
        ))}
      </ul>
    </section>
  );
}
