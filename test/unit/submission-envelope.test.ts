// The delivery report SMTP submission stores in the sender's INBOX when some recipients were reached and others
// not (submission/envelope.ts): a multipart/report (RFC 6522) with a message/delivery-status part (RFC 3464)
// naming each recipient not reached, and the message's header; a reason cannot break out of its field.
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { deliveryReport } from '../../submission/envelope.js';

const message = Buffer.from('From: alice@example.org\r\nSubject: lunch\r\n\r\nsecret body\r\n');

describe('the delivery report', () => {
  it('is a multipart/report naming the recipients not reached, with their status, and the header of the message alone', async () => {
    const report = deliveryReport(
      'example.org',
      { name: 'alice', domain: 'example.org' },
      message,
      ['bob@example.org'],
      [
        { recipient: 'carol@example.org', reason: 'the mailbox is full', permanent: true, status: '5.2.2' },
        { recipient: 'dave@remote.test', reason: 'try later\r\nX-Injected: yes', permanent: false, status: '4.4.1' },
      ],
    );
    const text = report.toString('utf8');
    const parsed = await simpleParser(report);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/report', params: { 'report-type': 'delivery-status' } });
    expect(parsed.to).toMatchObject({ text: 'alice@example.org' });
    expect(parsed.text).toContain('<carol@example.org>: the mailbox is full');
    expect(text).toContain('Final-Recipient: rfc822; carol@example.org\r\nAction: failed\r\nStatus: 5.2.2\r\n');
    expect(text).toContain('Final-Recipient: rfc822; dave@remote.test\r\nAction: failed\r\nStatus: 4.4.1\r\n');
    expect(text).toContain('Diagnostic-Code: X-Postern; try later X-Injected: yes\r\n');
    expect(text).not.toMatch(/^X-Injected/m);
    expect(text).toContain('Content-Type: text/rfc822-headers\r\n\r\nFrom: alice@example.org\r\nSubject: lunch\r\n');
    expect(text).not.toContain('secret body');
  });
});
