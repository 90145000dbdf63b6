// The lab's interface text in English and Korean (the study material synack grew from is Korean):
// every string the page shows goes through this table, the ladder's words included.
import { ENGLISH_WORDS, type LadderWords } from '../../src/trace/ladder.js';

export type Lang = 'en' | 'ko';

export const EN = {
  title: 'synack lab',
  subtitle: 'Two real TCP stacks in your browser, on a simulated link. Watch every segment and state.',
  story: 'Guided story',
  freePlay: 'Free play',
  seed: 'seed',
  rtt: 'RTT (ms)',
  bytes: 'bytes',
  restart: 'Replay from seed',
  play: 'Play',
  pause: 'Pause',
  step: 'Step',
  toEnd: 'Run to end',
  speed: 'speed',
  time: 'time',
  ladder: 'Ladder',
  states: 'State diagram (RFC 9293, drawn from the code\'s transition table)',
  tcb: 'Transmission control block',
  inspector: 'Segment',
  pickSegment: 'Click (or focus and press Enter on) a segment in the ladder to see its fields, bytes and arithmetic.',
  narration: 'Story',
  myth: 'Misconception',
  fact: 'What actually happens',
  history: 'States so far',
  connect: 'connect()',
  send: 'send',
  shutdown: 'shutdown(WR)',
  close: 'close()',
  abort: 'abort (RST)',
  listening: 'server listening on port 80',
  link: 'Link',
  loss: 'loss',
  reorder: 'reorder',
  rate: 'rate (bytes/s, 0 = unlimited)',
  dropNext: 'drop the next segment',
  dupNext: 'duplicate the next segment',
  attacks: 'Attacks',
  offPath: 'off-path attacker: guessed RST/data',
  onPath: 'on-path attacker: RST with the seen seq',
  synFlood: 'SYN flood',
  files: 'Files',
  downloadPcap: 'Download pcap',
  downloadSvg: 'Download SVG',
  openPcap: 'Open a pcap (or drop one here)',
  relativeNumbers: 'relative seq/ack',
  waiting: 'waiting',
  fastForward: 'fast-forwarding virtual time',
  done: 'settled: nothing left to happen',
  language: '한국어',
  direction: 'direction',
  relative: 'relative',
  noAck: '(ACK flag clear: no meaningful number)',
  note: 'note',
  segment: 'Segment',
  ofSegment: 'of segment',
  nextSeq: 'next seq after it',
  ackedBy: 'acknowledged by',
  arithmetic: 'Arithmetic',
  payload: 'Payload',
  rawBytes: 'Raw bytes (IP header first)',
  pcapConns: 'Connections in the capture',
  pcapBad: 'Not a readable pcap file',
  watchMode: 'Watching a live synack stack',
  watchWaiting: 'Waiting for traffic from the watched stack...',
  client: 'client',
  server: 'server',
  peer: 'peer',
  none: '(no connection yet)',
  noFlags: '(none)',
  state: 'state',
  rtoMs: 'RTO (ms)',
  nextTimerMs: 'next timer (ms)',
  duplicate: 'duplicate',
  duplicateOf: 'a second copy of',
  duplicateWhy: 'the link delivered it twice',
  runControls: 'run',
  connection: 'connection',
  sendAction: 'send',
};

type Key = keyof typeof EN;

export const KO: Record<Key, string> = {
  title: 'synack 실험실',
  subtitle: '브라우저 안에서 진짜 TCP 스택 두 개가 가상 링크로 통신한다. 세그먼트와 상태를 하나하나 지켜보자.',
  story: '안내 이야기',
  freePlay: '자유 실험',
  seed: '시드',
  rtt: '왕복 시간(ms)',
  bytes: '바이트',
  restart: '시드로 다시 실행',
  play: '재생',
  pause: '일시 정지',
  step: '한 단계',
  toEnd: '끝까지 실행',
  speed: '속도',
  time: '시간',
  ladder: '사다리 그림',
  states: '상태도 (RFC 9293, 코드의 전이 표에서 그림)',
  tcb: '전송 제어 블록(TCB)',
  inspector: '세그먼트',
  pickSegment: '사다리 그림의 세그먼트를 누르면(또는 포커스 후 Enter) 필드, 바이트, 계산이 보인다.',
  narration: '이야기',
  myth: '흔한 오해',
  fact: '실제로 일어나는 일',
  history: '지금까지의 상태',
  connect: 'connect()',
  send: '보내기',
  shutdown: 'shutdown(WR)',
  close: 'close()',
  abort: 'abort (RST)',
  listening: '서버가 80번 포트에서 대기',
  link: '링크',
  loss: '손실',
  reorder: '순서 바뀜',
  rate: '속도 (바이트/초, 0 = 무제한)',
  dropNext: '다음 세그먼트 버리기',
  dupNext: '다음 세그먼트 복제',
  attacks: '공격',
  offPath: '경로 밖 공격자: 추측한 RST/데이터',
  onPath: '경로 위 공격자: 본 seq로 RST',
  synFlood: 'SYN 플러드',
  files: '파일',
  downloadPcap: 'pcap 내려받기',
  downloadSvg: 'SVG 내려받기',
  openPcap: 'pcap 열기 (또는 여기로 끌어 놓기)',
  relativeNumbers: '상대 seq/ack',
  waiting: '기다리는 중',
  fastForward: '가상 시간 빨리 감기',
  done: '끝남: 더 일어날 일이 없다',
  language: 'English',
  direction: '방향',
  relative: '상대값',
  noAck: '(ACK 플래그 없음: 의미 없는 값)',
  note: '메모',
  segment: '세그먼트',
  ofSegment: '— 세그먼트',
  nextSeq: '다음 seq',
  ackedBy: '확인한 세그먼트',
  arithmetic: '계산',
  payload: '페이로드',
  rawBytes: '원시 바이트 (IP 헤더부터)',
  pcapConns: '캡처 안의 연결',
  pcapBad: '읽을 수 없는 pcap 파일',
  watchMode: '실제 synack 스택 지켜보기',
  watchWaiting: '지켜보는 스택의 트래픽을 기다리는 중...',
  client: '클라이언트',
  server: '서버',
  peer: '상대',
  none: '(아직 연결 없음)',
  noFlags: '(없음)',
  state: '상태',
  rtoMs: 'RTO (ms)',
  nextTimerMs: '다음 타이머 (ms)',
  duplicate: '복제본',
  duplicateOf: '두 번째 사본:',
  duplicateWhy: '링크가 두 번 전달했다',
  runControls: '실행',
  connection: '연결',
  sendAction: '보냄',
};

/** Notes the demo scenarios and the lab's attackers put on segments (English in the events), in Korean. */
const KO_NOTES: readonly [RegExp, string][] = [
  [/^spoofed$/, '위조'],
  [/^spoofed from (\S+)$/, '$1에서 온 것처럼 위조'],
  [/^spoofed SYN from (\S+)$/, '$1에서 온 것처럼 위조한 SYN'],
  [/^spoofed, off-path guess$/, '위조, 경로 밖에서 추측'],
  [/^spoofed, on-path: seq seen on the wire$/, '위조, 경로 위: 선로에서 본 seq'],
  [/^SYN cookie in seq: backlog full, nothing stored$/, 'seq에 SYN 쿠키: 백로그가 가득 차 아무것도 저장하지 않음'],
  [/^to (\S+), half-open (\d+)\/(\d+)$/, '$1에게, 반열림 $2/$3'],
  [/^to (\S+)$/, '$1에게'],
  [/^returns the cookie as ack-1$/, '쿠키를 ack-1로 돌려줌'],
];

/** A segment's note in `lang` (a note not in the table is shown as it is). */
export function noteText(lang: Lang, note: string): string {
  if (lang === 'en') return note;
  for (const [re, ko] of KO_NOTES) if (re.test(note)) return note.replace(re, ko);
  return note;
}

/**
 * A state change's cause or a transition's event in `lang`. RFC 9293's upper-case names (SYN, FIN,
 * OPEN, CLOSE, ABORT, 2*MSL) stay as in the RFC's figure; the words around them are translated.
 */
export function causeText(lang: Lang, cause: string): string {
  if (lang === 'en') return cause;
  return cause
    .replace(/rcv ACK with valid SYN cookie/g, '유효한 SYN 쿠키가 든 ACK 수신')
    .replace(/ \((simultaneous|active|passive) open\)/g, (_m, k: string) => ` (${k === 'simultaneous' ? '동시' : k === 'active' ? '능동' : '수동'} 열기)`)
    .replace(/\b(active|passive) OPEN/g, (_m, k: string) => `${k === 'active' ? '능동' : '수동'} OPEN`)
    .replace(/\brcv (\S+) of (\S+)/g, '$2에 대한 $1 수신')
    .replace(/\brcv (\S+)/g, '$1 수신')
    .replace(/\btimeout\b/g, '시간 초과')
    .replace(/\bsend\b/g, '보냄');
}

/** The names the lab gives its hosts ("client", "server", "synack", "peer"), in `lang`; addresses as they are. */
export function hostName(lang: Lang, host: string): string {
  if (host === 'client' || host === 'server' || host === 'peer') return tr(lang, host);
  return host;
}

const KO_WORDS: LadderWords = {
  retransmission: '재전송',
  lost: '손실',
  duplicate: '복제본',
  quiet: (seconds, timeWait) => (timeWait.length > 0 ? `${seconds} 경과: ${timeWait.join(', ')}: TIME-WAIT (2*MSL) 대기` : `${seconds} 경과, 보낸 것 없음`),
  note: (note) => noteText('ko', note),
  cause: (cause) => causeText('ko', cause),
  title: (left, right) => `TCP 사다리 그림: ${left}, ${right}`,
};

/** The ladder renderer's words in `lang`. */
export function ladderWords(lang: Lang): LadderWords {
  return lang === 'ko' ? KO_WORDS : ENGLISH_WORDS;
}

export function tr(lang: Lang, key: Key): string {
  return (lang === 'ko' ? KO : EN)[key];
}

export type { Key as TextKey };
