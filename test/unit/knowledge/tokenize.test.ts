import { describe, expect, it } from 'vitest';
import { rank, terms } from '../../../server/src/knowledge/tokenize.js';

describe('knowledge search terms', () => {
  it('splits Han text into bigrams and keeps Latin words and numbers', () => {
    expect(terms('停水怎么办')).toEqual(['停水', '水怎', '怎么', '么办']);
    expect(terms('社保卡 App 12345')).toEqual(['社保', '保卡', 'app', '12345']);
    expect(terms('水')).toEqual(['水']);
    expect(terms('ＡＢＣ全角')).toEqual(['abc', '全角']); // NFKC folds full-width letters
    expect(terms('  ，。！')).toEqual([]);
  });

  it('ranks title matches above body matches and drops non-matches', () => {
    const doc = (title: string, body: string) => ({ title, titleTerms: terms(title), tagTerms: [], terms: terms(`${title}\n${body}`) });
    const a = doc('突发停水怎么办', '查询公告');
    const b = doc('居住证办理', '如遇停水请拨打热线');
    const c = doc('营业执照', '全程网办');
    const out = rank(terms('停水'), [b, c, a]).map((s) => s.item.title);
    expect(out).toEqual(['突发停水怎么办', '居住证办理']);
  });
});
