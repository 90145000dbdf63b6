// The guided stories: for each `synack demo` scenario, short narration tied to real events of the
// run (a beat appears when its event happens), and the common misconceptions shown right beside
// what the stacks actually did. English and Korean; RFC 9293 sections where a rule comes from.
import type { TraceEvent } from '../../src/trace/events.js';

/** When a beat shows: a side reaching a state, a side sending a segment with these flags, a lost or repeated segment, a zero window, a note, or the end. */
export type Trigger = { state: string } | { seg: string } | { lost: true } | { retransmit: true } | { zeroWindow: true } | { note: string } | { end: true };

export interface Text {
  en: string;
  ko: string;
}

export interface Beat {
  at: Trigger;
  text: Text;
  /** A misconception and the truth, shown as a pair. */
  myth?: { wrong: Text; right: Text };
}

export interface Story {
  title: Text;
  beats: Beat[];
}

const TW_MYTH = {
  wrong: { en: 'TIME-WAIT always lasts 4 minutes.', ko: 'TIME-WAIT는 항상 4분 동안 이어진다.' },
  right: {
    en: 'TIME-WAIT lasts 2*MSL. Linux uses 60 s in total; 240 s is only where MSL is taken as 120 s (the old RFC 793 figure).',
    ko: 'TIME-WAIT의 길이는 2*MSL이다. Linux는 모두 합쳐 60초를 쓰고, 240초는 MSL을 120초로 잡는 구현(RFC 793의 옛 값)에서만 나온다.',
  },
};

const HANDSHAKE: Beat[] = [
  {
    at: { seg: 'client:SYN' },
    text: {
      en: 'The client calls connect(): its stack picks a random initial sequence number (ISS, RFC 6528) and sends SYN.',
      ko: '클라이언트가 connect()를 호출하면 스택이 무작위 초기 순서 번호(ISS, RFC 6528)를 고르고 SYN을 보낸다.',
    },
    myth: {
      wrong: { en: 'The SYN acknowledges something, so its ACK number matters.', ko: 'SYN도 무언가를 확인하므로 ACK 번호에 의미가 있다.' },
      right: {
        en: 'A first SYN has the ACK flag clear: its acknowledgment field means nothing and the ladder leaves it out (RFC 9293 3.4).',
        ko: '처음 보내는 SYN에는 ACK 플래그가 없다. 확인 번호 필드는 아무 뜻이 없어서 사다리 그림에도 적지 않는다(RFC 9293 3.4).',
      },
    },
  },
  {
    at: { state: 'client:SYN-SENT' },
    text: { en: 'The client is now in SYN-SENT, waiting for the answer.', ko: '클라이언트는 이제 SYN-SENT 상태에서 응답을 기다린다.' },
    myth: {
      wrong: { en: 'After sending SYN the client is already ESTABLISHED (or in SYN-RECEIVED).', ko: 'SYN을 보내자마자 클라이언트는 ESTABLISHED(또는 SYN-RECEIVED)가 된다.' },
      right: {
        en: 'It is in SYN-SENT. SYN-RECEIVED is the server\'s state after it gets the SYN (or both sides\' in a simultaneous open).',
        ko: 'SYN-SENT 상태다. SYN-RECEIVED는 SYN을 받은 서버의 상태다(동시 열기에서는 양쪽 모두).',
      },
    },
  },
  {
    at: { seg: 'server:SYN,ACK' },
    text: {
      en: 'The server answers SYN-ACK: its own random ISN, and ack = client ISS + 1, because a SYN uses one sequence number.',
      ko: '서버는 SYN-ACK로 답한다. 자기 ISN은 따로 무작위로 고르고, SYN이 순서 번호 하나를 차지하므로 ack = 클라이언트 ISS + 1이다.',
    },
  },
  {
    at: { state: 'client:ESTABLISHED' },
    text: {
      en: 'The client acknowledges the server\'s SYN with a pure ACK and is ESTABLISHED; the server gets there when that ACK arrives.',
      ko: '클라이언트는 서버의 SYN을 빈 ACK로 확인하고 ESTABLISHED가 된다. 서버는 그 ACK가 도착해야 ESTABLISHED가 된다.',
    },
  },
];

const CLIENT_CLOSE: Beat[] = [
  {
    at: { state: 'client:FIN-WAIT-1' },
    text: { en: 'The client closes first: FIN, and FIN-WAIT-1. It is the active closer.', ko: '클라이언트가 먼저 닫는다. FIN을 보내고 FIN-WAIT-1로 간다. 능동적으로 닫는 쪽이다.' },
  },
  {
    at: { state: 'server:CLOSE-WAIT' },
    text: {
      en: 'The server acknowledges the FIN and enters CLOSE-WAIT: the client will send nothing more, but the server may still send until its application closes.',
      ko: '서버는 FIN을 확인하고 CLOSE-WAIT로 간다. 클라이언트는 더 보내지 않지만, 서버는 자기 애플리케이션이 닫을 때까지 계속 보낼 수 있다.',
    },
    myth: {
      wrong: { en: 'The side that receives the first FIN ends up in TIME-WAIT.', ko: '처음 FIN을 받은 쪽이 TIME-WAIT에 남는다.' },
      right: {
        en: 'The passive closer goes through CLOSE-WAIT and LAST-ACK to CLOSED. Only the side that sent the first FIN waits in TIME-WAIT.',
        ko: '수동적으로 닫는 쪽은 CLOSE-WAIT, LAST-ACK를 거쳐 CLOSED가 된다. TIME-WAIT에서 기다리는 것은 먼저 FIN을 보낸 쪽뿐이다.',
      },
    },
  },
  {
    at: { state: 'server:LAST-ACK' },
    text: { en: 'The server closes too: its FIN, and LAST-ACK until that FIN is acknowledged.', ko: '서버도 닫는다. FIN을 보내고 그 FIN이 확인될 때까지 LAST-ACK에 머문다.' },
  },
  {
    at: { state: 'client:TIME-WAIT' },
    text: {
      en: 'The client acknowledges the server\'s FIN and waits in TIME-WAIT for 2*MSL, so a lost last ACK can be sent again and old segments die out (RFC 9293 3.6.1).',
      ko: '클라이언트는 서버의 FIN을 확인하고 2*MSL 동안 TIME-WAIT에서 기다린다. 마지막 ACK가 사라졌을 때 다시 보내고, 오래된 세그먼트가 사라지게 하기 위해서다(RFC 9293 3.6.1).',
    },
    myth: TW_MYTH,
  },
  {
    at: { end: true },
    text: { en: 'Sixty virtual seconds later TIME-WAIT expires and the client is CLOSED.', ko: '가상 시간으로 60초가 지나면 TIME-WAIT가 끝나고 클라이언트는 CLOSED가 된다.' },
  },
];

const DATA_BEAT: Beat = {
  at: { seg: 'client:PSH,ACK' },
  text: {
    en: 'Data: the request carries len bytes; the server\'s next ACK is this seq + len. Click a segment to see the sum.',
    ko: '데이터: 요청은 len 바이트를 싣는다. 서버의 다음 ACK 번호는 이 seq + len이다. 세그먼트를 누르면 계산이 보인다.',
  },
};

export const STORIES: Record<string, Story> = {
  basic: {
    title: { en: 'Handshake, one exchange, the 4-way close', ko: '3방향 핸드셰이크, 요청 하나, 4방향 종료' },
    beats: [...HANDSHAKE, DATA_BEAT, ...CLIENT_CLOSE],
  },
  data: {
    title: { en: 'ack = seq + len, three times', ko: 'ack = seq + len, 세 번' },
    beats: [
      HANDSHAKE[0]!,
      DATA_BEAT,
      {
        at: { seg: 'server:PSH,ACK' },
        text: {
          en: 'Each response acknowledges the request it answers, and carries its own bytes in the other direction: each side numbers its own bytes.',
          ko: '응답은 받은 요청을 확인하면서 반대 방향으로 자기 바이트를 싣는다. 순서 번호는 양쪽이 각자 자기 바이트에 매긴다.',
        },
      },
      { at: { end: true }, text: { en: 'Three exchanges, and every ACK number is a sum you can check.', ko: '교환 세 번, 모든 ACK 번호는 직접 확인할 수 있는 덧셈이다.' } },
    ],
  },
  'server-close': {
    title: { en: 'The server closes first', ko: '서버가 먼저 닫는다' },
    beats: [
      HANDSHAKE[0]!,
      {
        at: { state: 'server:FIN-WAIT-1' },
        text: { en: 'This time the server sends the first FIN: it is the active closer.', ko: '이번에는 서버가 먼저 FIN을 보낸다. 서버가 능동적으로 닫는 쪽이다.' },
      },
      {
        at: { state: 'client:CLOSE-WAIT' },
        text: { en: 'The client, having received the FIN, is in CLOSE-WAIT until it closes.', ko: 'FIN을 받은 클라이언트는 스스로 닫을 때까지 CLOSE-WAIT에 있다.' },
      },
      {
        at: { state: 'server:TIME-WAIT' },
        text: {
          en: 'So the server waits in TIME-WAIT. Busy servers that close first collect TIME-WAIT entries; that is a consequence of who closes, not of being a server.',
          ko: '그래서 TIME-WAIT에서 기다리는 것은 서버다. 먼저 닫는 서버에 TIME-WAIT가 쌓이는 것은 서버라서가 아니라 누가 먼저 닫느냐의 결과다.',
        },
        myth: TW_MYTH,
      },
    ],
  },
  'simultaneous-close': {
    title: { en: 'Both close at once', ko: '양쪽이 동시에 닫기' },
    beats: [
      {
        at: { state: 'client:FIN-WAIT-1' },
        text: { en: 'Both ends call close at the same moment; both send FIN and enter FIN-WAIT-1.', ko: '양쪽이 같은 순간에 close를 호출한다. 둘 다 FIN을 보내고 FIN-WAIT-1로 간다.' },
      },
      {
        at: { state: 'client:CLOSING' },
        text: {
          en: 'Each receives the other\'s FIN before the ACK of its own: CLOSING (RFC 9293 3.6, figure 13).',
          ko: '각자 자기 FIN의 ACK보다 상대의 FIN을 먼저 받는다. 그래서 CLOSING 상태가 된다(RFC 9293 3.6, 그림 13).',
        },
      },
      {
        at: { state: 'client:TIME-WAIT' },
        text: { en: 'Both sent a FIN first, so both wait in TIME-WAIT.', ko: '둘 다 먼저 FIN을 보냈으므로 둘 다 TIME-WAIT에서 기다린다.' },
        myth: TW_MYTH,
      },
    ],
  },
  'simultaneous-open': {
    title: { en: 'Simultaneous open', ko: '동시 열기' },
    beats: [
      {
        at: { state: 'client:SYN-SENT' },
        text: { en: 'Both ends connect to each other at once: two SYNs cross, both sides in SYN-SENT.', ko: '양쪽이 동시에 서로에게 연결한다. SYN 두 개가 엇갈리고 양쪽 모두 SYN-SENT다.' },
      },
      {
        at: { state: 'client:SYN-RECEIVED' },
        text: {
          en: 'A SYN arriving in SYN-SENT moves a side to SYN-RECEIVED; each answers with SYN-ACK (RFC 9293 3.5, figure 8).',
          ko: 'SYN-SENT에서 SYN을 받으면 SYN-RECEIVED로 가고, 각자 SYN-ACK로 답한다(RFC 9293 3.5, 그림 8).',
        },
      },
      { at: { state: 'client:ESTABLISHED' }, text: { en: 'Four segments, one connection, no server.', ko: '세그먼트 네 개, 연결 하나, 서버는 없다.' } },
    ],
  },
  'half-close': {
    title: { en: 'Half-close', ko: '반쪽 닫기' },
    beats: [
      HANDSHAKE[0]!,
      {
        at: { state: 'client:FIN-WAIT-1' },
        text: { en: 'The client sends its request and closes its sending side at once (shutdown(SHUT_WR)).', ko: '클라이언트는 요청을 보내자마자 보내는 쪽을 닫는다(shutdown(SHUT_WR)).' },
      },
      {
        at: { seg: 'server:PSH,ACK' },
        text: {
          en: 'The server, in CLOSE-WAIT, still sends the whole response: a FIN closes one direction only.',
          ko: 'CLOSE-WAIT에 있는 서버는 여전히 응답 전체를 보낸다. FIN은 한 방향만 닫는다.',
        },
      },
      { at: { state: 'client:TIME-WAIT' }, text: { en: 'The client closed first, so it waits in TIME-WAIT.', ko: '클라이언트가 먼저 닫았으므로 TIME-WAIT에서 기다린다.' } },
    ],
  },
  'lost-final-ack': {
    title: { en: 'The last ACK is lost', ko: '마지막 ACK가 사라지다' },
    beats: [
      { at: { state: 'client:TIME-WAIT' }, text: { en: 'The client is in TIME-WAIT after acknowledging the server\'s FIN...', ko: '클라이언트는 서버의 FIN을 확인하고 TIME-WAIT에 있다...' } },
      { at: { lost: true }, text: { en: '...but that ACK is lost on the link. The server, in LAST-ACK, hears nothing.', ko: '...그런데 그 ACK가 링크에서 사라진다. LAST-ACK에 있는 서버는 아무것도 받지 못한다.' } },
      {
        at: { retransmit: true },
        text: {
          en: 'The server\'s retransmission timer sends the FIN again. The client still remembers the connection in TIME-WAIT and acknowledges it: this is why TIME-WAIT exists.',
          ko: '서버의 재전송 타이머가 FIN을 다시 보낸다. 클라이언트는 TIME-WAIT에서 연결을 아직 기억하므로 다시 확인해 준다. TIME-WAIT가 있는 이유다.',
        },
        myth: TW_MYTH,
      },
    ],
  },
  refused: {
    title: { en: 'Connection refused', ko: '연결 거부' },
    beats: [
      HANDSHAKE[0]!,
      {
        at: { seg: 'server:RST,ACK' },
        text: {
          en: 'Nobody listens on that port: the server\'s stack answers RST,ACK with ack = ISS + 1 (RFC 9293 3.10.7.1), and connect() fails with ECONNREFUSED.',
          ko: '그 포트에는 듣는 쪽이 없다. 서버 스택은 ack = ISS + 1인 RST,ACK로 답하고(RFC 9293 3.10.7.1), connect()는 ECONNREFUSED로 실패한다.',
        },
      },
    ],
  },
  abort: {
    title: { en: 'Abort', ko: '강제 종료(abort)' },
    beats: [
      HANDSHAKE[0]!,
      {
        at: { seg: 'client:RST,ACK' },
        text: {
          en: 'The client aborts: one RST, no FIN exchange. Both ends go straight to CLOSED, and nobody waits in TIME-WAIT.',
          ko: '클라이언트가 연결을 끊어 버린다. RST 하나뿐이고 FIN 교환은 없다. 양쪽 모두 바로 CLOSED가 되고 TIME-WAIT도 없다.',
        },
      },
    ],
  },
  loss: {
    title: { en: 'Loss and recovery', ko: '손실과 복구' },
    beats: [
      { at: { lost: true }, text: { en: 'A data segment is lost (the arrow stops short with a cross).', ko: '데이터 세그먼트 하나가 사라진다(화살표가 중간에 X로 끝난다).' } },
      {
        at: { retransmit: true },
        text: {
          en: 'Later segments arrive out of order, the receiver repeats its ACK (duplicate ACKs with SACK blocks), and the sender retransmits the hole without waiting for a timeout.',
          ko: '뒤 세그먼트들이 순서 없이 도착하면 수신자는 같은 ACK를 되풀이한다(SACK 블록과 함께). 송신자는 타임아웃을 기다리지 않고 빈 곳을 다시 보낸다.',
        },
      },
      {
        at: { end: true },
        text: {
          en: 'The lost tail had no later segment to reveal it: a timer found it (the tail loss probe, RFC 8985).',
          ko: '마지막 세그먼트의 손실은 알려 줄 뒤 세그먼트가 없어서 타이머가 찾아냈다(꼬리 손실 탐침, RFC 8985).',
        },
      },
    ],
  },
  'zero-window': {
    title: { en: 'Zero window', ko: '제로 윈도' },
    beats: [
      {
        at: { seg: 'client:ACK' },
        text: { en: 'The server\'s application stops reading; its receive buffer fills.', ko: '서버 애플리케이션이 읽기를 멈추고, 수신 버퍼가 찬다.' },
      },
      {
        at: { zeroWindow: true },
        text: {
          en: 'The server advertises win=0. The client must not send, so it probes the window with backoff (RFC 9293 3.8.6.1).',
          ko: '서버가 win=0을 알린다. 클라이언트는 보낼 수 없으므로 간격을 늘려 가며 윈도를 탐침한다(RFC 9293 3.8.6.1).',
        },
      },
      { at: { end: true }, text: { en: 'The server reads again, opens the window, and the transfer finishes.', ko: '서버가 다시 읽으면 윈도가 열리고 전송이 끝난다.' } },
    ],
  },
  hijack: {
    title: { en: 'A blind hijack attempt', ko: '눈먼 하이재킹 시도' },
    beats: [
      HANDSHAKE[0]!,
      {
        at: { note: 'spoofed' },
        text: {
          en: 'An off-path attacker, who cannot see the traffic, sends RSTs and data with guessed numbers from the client\'s address.',
          ko: '트래픽을 볼 수 없는 경로 밖 공격자가 클라이언트 주소로 추측한 번호의 RST와 데이터를 보낸다.',
        },
      },
      {
        at: { end: true },
        text: {
          en: 'With random ISNs a guess almost never lands in the window, and RFC 5961 makes a RST that is not exactly RCV.NXT earn only a challenge ACK. The connection carries on.',
          ko: 'ISN이 무작위라서 추측이 윈도 안에 들어올 가능성은 거의 없고, RFC 5961에 따라 RCV.NXT와 정확히 같지 않은 RST는 도전 ACK만 받는다. 연결은 계속된다.',
        },
      },
    ],
  },
  'syn-flood': {
    title: { en: 'SYN flood and SYN cookies', ko: 'SYN 플러드와 SYN 쿠키' },
    beats: [
      {
        at: { note: 'spoofed' },
        text: { en: 'Spoofed SYNs from hosts that will never answer fill the server\'s backlog of 2.', ko: '절대 답하지 않을 주소로 위조한 SYN이 서버의 백로그 2개를 채운다.' },
      },
      {
        at: { note: 'SYN cookie' },
        text: {
          en: 'The real client\'s SYN is not dropped: the server answers with a SYN cookie, its state encoded in the sequence number (RFC 4987 3.6).',
          ko: '진짜 클라이언트의 SYN은 버려지지 않는다. 서버는 상태를 순서 번호에 담은 SYN 쿠키로 답한다(RFC 4987 3.6).',
        },
      },
      {
        at: { state: 'server:ESTABLISHED' },
        text: { en: 'The client\'s ACK returns the cookie as ack - 1, and the server rebuilds the connection from it.', ko: '클라이언트의 ACK가 쿠키를 ack - 1로 돌려주고, 서버는 그것으로 연결을 다시 만든다.' },
      },
    ],
  },
};

/** Whether a beat's event has happened among `events` (with `ended` once the run settled). */
export function beatReached(b: Beat, events: readonly TraceEvent[], ended: boolean): boolean {
  const a = b.at;
  if ('end' in a) return ended;
  return events.some((e) => {
    if ('state' in a) return e.type === 'state' && `${e.host}:${e.to}` === a.state;
    if (e.type !== 'segment') return false;
    if ('seg' in a) return `${e.from}:${e.flags}` === a.seg && e.conn === undefined;
    if ('lost' in a) return e.lost;
    if ('retransmit' in a) return e.retransmit === true;
    if ('zeroWindow' in a) return e.win === 0 && !e.flags.includes('RST');
    return e.note !== undefined && e.note.includes(a.note);
  });
}
