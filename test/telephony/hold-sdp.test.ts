// Which re-INVITE SDP puts a call on hold (call.held / call.resumed, b2bua.ts isHoldSdp).
import { describe, expect, it } from 'vitest';
import { isHoldSdp } from '../../telephony/src/b2bua.js';

const sdp = (...lines: string[]) => ['v=0', 'o=x 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', ...lines].join('\r\n') + '\r\n';

describe('isHoldSdp', () => {
  it('audio sendonly or inactive is a hold; sendrecv, recvonly or no attribute is not', () => {
    expect(isHoldSdp(sdp('m=audio 4000 RTP/AVP 0', 'a=sendonly'))).toBe(true);
    expect(isHoldSdp(sdp('m=audio 4000 RTP/AVP 0', 'a=inactive'))).toBe(true);
    expect(isHoldSdp(sdp('m=audio 4000 RTP/AVP 0', 'a=sendrecv'))).toBe(false);
    expect(isHoldSdp(sdp('m=audio 4000 RTP/AVP 0', 'a=recvonly'))).toBe(false);
    expect(isHoldSdp(sdp('m=audio 4000 RTP/AVP 0'))).toBe(false);
  });

  it('a session-level direction applies unless the audio stream has its own', () => {
    expect(isHoldSdp(sdp('a=sendonly', 'm=audio 4000 RTP/AVP 0'))).toBe(true);
    expect(isHoldSdp(sdp('a=sendonly', 'm=audio 4000 RTP/AVP 0', 'a=sendrecv'))).toBe(false);
  });

  it('RFC 2543 hold (c=0.0.0.0) is a hold; other streams (video) do not count', () => {
    expect(isHoldSdp(sdp('m=audio 4000 RTP/AVP 0', 'c=IN IP4 0.0.0.0'))).toBe(true);
    expect(isHoldSdp(sdp('m=audio 4000 RTP/AVP 0', 'a=sendrecv', 'm=video 5000 RTP/AVP 96', 'a=inactive'))).toBe(false);
    expect(isHoldSdp('v=0\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 0\na=sendonly\n')).toBe(true); // bare LF
  });
});
