/**
 * A demo city modelled on Anyang (安阳, Henan — the seed plan's city): the city, four urban
 * districts, their streets, city bureaus, a utility and the police, on three levels (分级负责).
 * Names are real place names; people are fictional.
 */
import type { Category } from '../tickets/vocabulary.js';
import type { DepartmentDoc, UserRole } from './model.js';

type Dept = Omit<DepartmentDoc, 'active'>;
const gov = (d: Omit<Dept, 'kind'>): Dept => ({ ...d, kind: 'government' });
const bureau = (d: Omit<Dept, 'kind'>): Dept => ({ ...d, kind: 'bureau' });

export const DEMO_DEPARTMENTS: Dept[] = [
  gov({ _id: 'anyang', name: '安阳市人民政府', nameEn: 'Anyang Municipal Government', level: 'city', parentId: null, districtId: null, streetId: null }),
  bureau({ _id: 'city-housing', name: '市住房和城乡建设局', nameEn: 'Housing and Urban-Rural Development Bureau', level: 'city', parentId: 'anyang', districtId: null, streetId: null }),
  bureau({ _id: 'city-eco', name: '市生态环境局', nameEn: 'Ecology and Environment Bureau', level: 'city', parentId: 'anyang', districtId: null, streetId: null }),
  bureau({ _id: 'city-market', name: '市市场监督管理局', nameEn: 'Market Regulation Bureau', level: 'city', parentId: 'anyang', districtId: null, streetId: null }),
  bureau({ _id: 'city-hrss', name: '市人力资源和社会保障局', nameEn: 'Human Resources and Social Security Bureau', level: 'city', parentId: 'anyang', districtId: null, streetId: null }),
  bureau({ _id: 'city-transport', name: '市交通运输局', nameEn: 'Transport Bureau', level: 'city', parentId: 'anyang', districtId: null, streetId: null }),
  bureau({ _id: 'city-urban', name: '市城市管理局', nameEn: 'Urban Management Bureau', level: 'city', parentId: 'anyang', districtId: null, streetId: null }),
  bureau({ _id: 'city-education', name: '市教育局', nameEn: 'Education Bureau', level: 'city', parentId: 'anyang', districtId: null, streetId: null }),
  bureau({ _id: 'city-health', name: '市卫生健康委员会', nameEn: 'Health Commission', level: 'city', parentId: 'anyang', districtId: null, streetId: null }),
  bureau({ _id: 'city-police', name: '市公安局', nameEn: 'Public Security Bureau (110)', level: 'city', parentId: 'anyang', districtId: null, streetId: null }),
  { _id: 'city-water', name: '安阳市水务集团', nameEn: 'Anyang Water Group', level: 'city', kind: 'enterprise', parentId: 'anyang', districtId: null, streetId: null },
  gov({ _id: 'wenfeng', name: '文峰区人民政府', nameEn: 'Wenfeng District Government', level: 'district', parentId: 'anyang', districtId: 'wenfeng', streetId: null }),
  gov({ _id: 'beiguan', name: '北关区人民政府', nameEn: 'Beiguan District Government', level: 'district', parentId: 'anyang', districtId: 'beiguan', streetId: null }),
  gov({ _id: 'yindu', name: '殷都区人民政府', nameEn: 'Yindu District Government', level: 'district', parentId: 'anyang', districtId: 'yindu', streetId: null }),
  gov({ _id: 'longan', name: '龙安区人民政府', nameEn: 'Long’an District Government', level: 'district', parentId: 'anyang', districtId: 'longan', streetId: null }),
  bureau({ _id: 'wenfeng-urban', name: '文峰区城市管理局', nameEn: 'Wenfeng Urban Management Bureau', level: 'district', parentId: 'wenfeng', districtId: 'wenfeng', streetId: null }),
  gov({ _id: 'wenfeng-nanguan', name: '南关街道办事处', nameEn: 'Nanguan Subdistrict Office', level: 'street', parentId: 'wenfeng', districtId: 'wenfeng', streetId: 'nanguan' }),
  gov({ _id: 'wenfeng-ximen', name: '西大街街道办事处', nameEn: 'Xidajie Subdistrict Office', level: 'street', parentId: 'wenfeng', districtId: 'wenfeng', streetId: 'xidajie' }),
  gov({ _id: 'beiguan-hongqi', name: '红旗路街道办事处', nameEn: 'Hongqilu Subdistrict Office', level: 'street', parentId: 'beiguan', districtId: 'beiguan', streetId: 'hongqilu' }),
  gov({ _id: 'yindu-meiyuan', name: '梅园庄街道办事处', nameEn: 'Meiyuanzhuang Subdistrict Office', level: 'street', parentId: 'yindu', districtId: 'yindu', streetId: 'meiyuanzhuang' }),
  gov({ _id: 'longan-wenming', name: '文明大道街道办事处', nameEn: 'Wenmingdadao Subdistrict Office', level: 'street', parentId: 'longan', districtId: 'longan', streetId: 'wenmingdadao' }),
];

export const DEMO_PASSWORD = 'Hotline@12345';

export const DEMO_USERS: { username: string; name: string; role: UserRole; departmentId: string | null }[] = [
  { username: 'admin', name: '系统管理员', role: 'admin', departmentId: null },
  { username: 'super1', name: '王芳（班长）', role: 'supervisor', departmentId: null },
  { username: 'agent1', name: '李娜', role: 'agent', departmentId: null },
  { username: 'agent2', name: '张伟', role: 'agent', departmentId: null },
  { username: 'window1', name: '赵敏（有诉即办窗口）', role: 'window', departmentId: null },
  { username: 'housing1', name: '刘洋（市住建局）', role: 'department', departmentId: 'city-housing' },
  { username: 'urban1', name: '陈静（市城管局）', role: 'department', departmentId: 'city-urban' },
  { username: 'water1', name: '杨帆（水务集团）', role: 'department', departmentId: 'city-water' },
  { username: 'market1', name: '黄磊（市场监管局）', role: 'department', departmentId: 'city-market' },
  { username: 'hrss1', name: '周婷（市人社局）', role: 'department', departmentId: 'city-hrss' },
  { username: 'wenfeng1', name: '吴强（文峰区）', role: 'department', departmentId: 'wenfeng' },
  { username: 'nanguan1', name: '郑丽（南关街道）', role: 'department', departmentId: 'wenfeng-nanguan' },
];

export const DEMO_RULES: { category: Category | null; districtId: string | null; streetId: string | null; departmentId: string; note: string }[] = [
  { category: 'report', districtId: null, streetId: null, departmentId: 'city-market', note: '举报（食品、价格、假冒）默认市场监管' },
  { category: 'consultation', districtId: null, streetId: null, departmentId: 'city-hrss', note: '咨询（社保、就业）默认人社局' },
  { category: 'complaint', districtId: 'wenfeng', streetId: null, departmentId: 'wenfeng-urban', note: '文峰区投诉（市容、噪音）' },
  { category: 'help', districtId: 'wenfeng', streetId: 'nanguan', departmentId: 'wenfeng-nanguan', note: '南关街道求助' },
  { category: 'suggestion', districtId: null, streetId: null, departmentId: 'city-urban', note: '城市管理建议' },
];

export const DEMO_ARTICLES: { title: string; body: string; categories: Category[]; tags: string[] }[] = [
  {
    title: '突发停水怎么办',
    body: '遇到突发停水，可先查询水务集团公告；计划停水会提前24小时公告。无公告的停水请拨打12345登记，热线将派单至水务集团，2小时内联系。',
    categories: ['consultation', 'help'],
    tags: ['停水', '供水', '水务'],
  },
  {
    title: '社保卡丢失如何补办',
    body: '携带身份证到任一社保服务网点或通过“豫事办”App申请补办，挂失即时生效，新卡一般7个工作日内制成。',
    categories: ['consultation'],
    tags: ['社保卡', '补办', '人社'],
  },
  {
    title: '居住证办理条件和材料',
    body: '在本市居住半年以上，有合法稳定就业、合法稳定住所或连续就读条件之一，可持身份证、居住登记凭证到居住地派出所申领居住证。',
    categories: ['consultation'],
    tags: ['居住证', '户籍'],
  },
  {
    title: '夜间施工噪音扰民的处理',
    body: '夜间22时至次日6时禁止产生噪声的建筑施工作业（抢修、抢险除外）。市民可拨打12345投诉，热线派至城市管理或生态环境部门现场处置。',
    categories: ['complaint'],
    tags: ['噪音', '施工', '扰民'],
  },
  {
    title: '个体工商户营业执照办理',
    body: '个体工商户登记可通过河南省市场主体登记平台全程网办，材料齐全当场办结，也可到政务服务中心市场监管窗口办理。',
    categories: ['consultation'],
    tags: ['营业执照', '个体户', '万人助万企'],
  },
];
