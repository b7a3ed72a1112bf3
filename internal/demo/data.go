package demo

// The word lists the generator draws from. Everything here is invented or
// public-registry style (districts, postcodes, well-known employers); the
// combinations are random, so no customer is a real person or company.

// syllable is a Chinese character with its pinyin, so that e-mail addresses
// can be derived from names.
type syllable struct{ hz, py string }

var surnames = []syllable{
	{"王", "wang"}, {"李", "li"}, {"张", "zhang"}, {"刘", "liu"}, {"陈", "chen"}, {"杨", "yang"}, {"黄", "huang"},
	{"赵", "zhao"}, {"吴", "wu"}, {"周", "zhou"}, {"徐", "xu"}, {"孙", "sun"}, {"马", "ma"}, {"朱", "zhu"},
	{"胡", "hu"}, {"郭", "guo"}, {"何", "he"}, {"高", "gao"}, {"林", "lin"}, {"罗", "luo"}, {"郑", "zheng"},
	{"梁", "liang"}, {"谢", "xie"}, {"宋", "song"}, {"唐", "tang"}, {"许", "xu"}, {"韩", "han"}, {"冯", "feng"},
	{"邓", "deng"}, {"曹", "cao"}, {"彭", "peng"}, {"曾", "zeng"}, {"肖", "xiao"}, {"田", "tian"}, {"董", "dong"},
	{"潘", "pan"}, {"袁", "yuan"}, {"蔡", "cai"}, {"蒋", "jiang"}, {"余", "yu"}, {"于", "yu"}, {"杜", "du"},
	{"叶", "ye"}, {"程", "cheng"}, {"魏", "wei"}, {"苏", "su"}, {"吕", "lv"}, {"丁", "ding"}, {"任", "ren"},
	{"卢", "lu"}, {"姚", "yao"}, {"沈", "shen"}, {"钟", "zhong"}, {"姜", "jiang"}, {"崔", "cui"}, {"谭", "tan"},
	{"陆", "lu"}, {"范", "fan"}, {"汪", "wang"}, {"廖", "liao"}, {"石", "shi"}, {"金", "jin"}, {"贾", "jia"},
	{"欧阳", "ouyang"}, {"上官", "shangguan"}, {"司马", "sima"},
}

var maleGiven = []syllable{
	{"伟", "wei"}, {"强", "qiang"}, {"磊", "lei"}, {"军", "jun"}, {"洋", "yang"}, {"勇", "yong"}, {"杰", "jie"},
	{"涛", "tao"}, {"明", "ming"}, {"超", "chao"}, {"刚", "gang"}, {"平", "ping"}, {"辉", "hui"}, {"鹏", "peng"},
	{"华", "hua"}, {"飞", "fei"}, {"鑫", "xin"}, {"波", "bo"}, {"斌", "bin"}, {"宇", "yu"}, {"浩", "hao"},
	{"凯", "kai"}, {"健", "jian"}, {"俊", "jun"}, {"帆", "fan"}, {"建", "jian"}, {"国", "guo"}, {"志", "zhi"},
	{"文", "wen"}, {"博", "bo"}, {"子", "zi"}, {"轩", "xuan"}, {"晨", "chen"}, {"睿", "rui"}, {"峰", "feng"},
	{"毅", "yi"}, {"东", "dong"}, {"海", "hai"}, {"振", "zhen"}, {"德", "de"}, {"荣", "rong"}, {"成", "cheng"},
}

var femaleGiven = []syllable{
	{"芳", "fang"}, {"娜", "na"}, {"敏", "min"}, {"静", "jing"}, {"丽", "li"}, {"艳", "yan"}, {"娟", "juan"},
	{"霞", "xia"}, {"秀", "xiu"}, {"英", "ying"}, {"玲", "ling"}, {"桂", "gui"}, {"兰", "lan"}, {"萍", "ping"},
	{"红", "hong"}, {"婷", "ting"}, {"雪", "xue"}, {"琳", "lin"}, {"晶", "jing"}, {"燕", "yan"}, {"倩", "qian"},
	{"颖", "ying"}, {"慧", "hui"}, {"佳", "jia"}, {"欣", "xin"}, {"悦", "yue"}, {"梦", "meng"}, {"雨", "yu"},
	{"思", "si"}, {"怡", "yi"}, {"月", "yue"}, {"丹", "dan"}, {"薇", "wei"}, {"璐", "lu"}, {"琪", "qi"},
	{"晓", "xiao"}, {"嘉", "jia"}, {"秋", "qiu"}, {"凤", "feng"}, {"梅", "mei"},
}

// region is a county-level area of GB/T 2260: the address code of resident
// IDs and USCCs, and the addresses, postcode and issuing police office that
// go with it.
type region struct {
	code      string
	prefix    string // province, city and district as written in addresses
	streets   []string
	postcode  string
	authority string // issuing authority of resident IDs
	city      string // "BJ", "SH", or "" elsewhere
}

var regions = []region{
	{"110101", "北京市东城区", []string{"东直门内大街", "王府井大街", "东四十条", "和平里东街"}, "100010", "北京市公安局东城分局", "BJ"},
	{"110102", "北京市西城区", []string{"金融大街", "西直门外大街", "阜成门内大街", "广安门内大街"}, "100032", "北京市公安局西城分局", "BJ"},
	{"110105", "北京市朝阳区", []string{"建国路", "朝阳北路", "望京街", "东三环中路", "酒仙桥路", "工体北路"}, "100020", "北京市公安局朝阳分局", "BJ"},
	{"110106", "北京市丰台区", []string{"丰台北路", "南三环西路", "富丰路"}, "100071", "北京市公安局丰台分局", "BJ"},
	{"110108", "北京市海淀区", []string{"中关村大街", "学院路", "知春路", "北四环西路", "万泉河路", "上地十街"}, "100080", "北京市公安局海淀分局", "BJ"},
	{"110112", "北京市通州区", []string{"新华西街", "九棵树东路", "玉桥中路"}, "101100", "北京市公安局通州分局", "BJ"},
	{"310101", "上海市黄浦区", []string{"南京东路", "淮海中路", "西藏中路", "河南南路"}, "200001", "上海市公安局黄浦分局", "SH"},
	{"310104", "上海市徐汇区", []string{"漕溪北路", "肇嘉浜路", "衡山路", "虹桥路"}, "200030", "上海市公安局徐汇分局", "SH"},
	{"310106", "上海市静安区", []string{"南京西路", "延安中路", "共和新路", "江宁路"}, "200040", "上海市公安局静安分局", "SH"},
	{"310112", "上海市闵行区", []string{"莘建路", "虹井路", "七莘路"}, "201100", "上海市公安局闵行分局", "SH"},
	{"310115", "上海市浦东新区", []string{"世纪大道", "张杨路", "陆家嘴环路", "浦东南路", "金桥路", "张江路"}, "200120", "上海市公安局浦东分局", "SH"},
	{"320102", "江苏省南京市玄武区", []string{"中山路", "北京东路", "龙蟠路"}, "210018", "南京市公安局玄武分局", ""},
	{"330106", "浙江省杭州市西湖区", []string{"文三路", "天目山路", "教工路"}, "310013", "杭州市公安局西湖区分局", ""},
	{"440305", "广东省深圳市南山区", []string{"科技园南路", "深南大道", "南海大道"}, "518057", "深圳市公安局南山分局", ""},
	{"510104", "四川省成都市锦江区", []string{"春熙路", "红星路", "东大街"}, "610021", "成都市公安局锦江区分局", ""},
	{"420106", "湖北省武汉市武昌区", []string{"中南路", "中北路", "武珞路"}, "430071", "武汉市公安局武昌分局", ""},
	{"370202", "山东省青岛市市南区", []string{"香港中路", "东海西路", "山东路"}, "266071", "青岛市公安局市南分局", ""},
	{"610113", "陕西省西安市雁塔区", []string{"小寨东路", "长安南路", "科技路"}, "710061", "西安市公安局雁塔分局", ""},
	{"210102", "辽宁省沈阳市和平区", []string{"南京北街", "中华路", "青年大街"}, "110001", "沈阳市公安局和平分局", ""},
	{"410105", "河南省郑州市金水区", []string{"花园路", "农业路", "经三路"}, "450003", "郑州市公安局金水分局", ""},
	{"130102", "河北省石家庄市长安区", []string{"中山东路", "建设北大街", "广安大街"}, "050011", "石家庄市公安局长安分局", ""},
	{"350203", "福建省厦门市思明区", []string{"中山路", "湖滨南路", "厦禾路"}, "361001", "厦门市公安局思明分局", ""},
	{"430102", "湖南省长沙市芙蓉区", []string{"五一大道", "芙蓉中路", "解放西路"}, "410011", "长沙市公安局芙蓉分局", ""},
}

// job is an occupation with a plausible employer ("" for the self-employed).
type job struct{ occupation, employer string }

var jobs = map[string][]job{
	"BJ": {
		{"医生", "北京大学第三医院"}, {"护士", "首都医科大学附属北京朝阳医院"}, {"教师", "北京市第八十中学"},
		{"教授", "清华大学"}, {"工程师", "中国石油天然气集团有限公司"}, {"软件工程师", "北京字节跳动科技有限公司"},
		{"产品经理", "百度在线网络技术（北京）有限公司"}, {"采购经理", "北京京东世纪贸易有限公司"},
		{"电力工程师", "国网北京市电力公司"}, {"公务员", "北京市朝阳区人民政府"}, {"会计", "中国建筑第一工程局有限公司"},
		{"律师", "北京市金杜律师事务所"}, {"研究员", "中国科学院计算技术研究所"}, {"销售经理", "小米科技有限责任公司"},
		{"飞行员", "中国国际航空股份有限公司"},
	},
	"SH": {
		{"医生", "复旦大学附属华山医院"}, {"护士", "上海市第一人民医院"}, {"教师", "上海市实验学校"},
		{"副教授", "上海交通大学"}, {"工程师", "上海汽车集团股份有限公司"}, {"设计师", "中国商用飞机有限责任公司"},
		{"软件工程师", "携程计算机技术（上海）有限公司"}, {"公务员", "上海市浦东新区人民政府"},
		{"会计", "上海国际港务（集团）股份有限公司"}, {"律师", "上海市锦天城律师事务所"},
		{"研究员", "中国科学院上海药物研究所"}, {"销售经理", "宝山钢铁股份有限公司"}, {"证券分析师", "国泰君安证券股份有限公司"},
	},
	"": {
		{"个体工商户", ""}, {"自由职业", ""}, {"企业主", ""}, {"网店店主", ""},
	},
}

// Occupations of private-banking customers.
var privateJobs = []job{
	{"企业主", ""}, {"董事长", "北京华信科技有限公司"}, {"上市公司高管", "上海汽车集团股份有限公司"},
	{"律师事务所合伙人", "北京市金杜律师事务所"}, {"投资人", ""}, {"主任医师", "复旦大学附属华山医院"},
}

var familySituations = []string{
	"已婚，育有一子", "已婚，育有一女，与父母同住", "未婚", "离异，独居", "已婚，两个孩子均在读大学",
	"丧偶，与子女同住", "已婚，暂无子女", "已婚，育有一子一女", "未婚，与父母同住",
}

var interests = []string{"高尔夫、旅游", "阅读、书法", "摄影", "马拉松", "收藏字画", "烹饪", "钓鱼", "古典音乐", "登山", "茶艺", "网球"}

var riskPreferences = []string{"保守型", "稳健型", "平衡型", "成长型", "进取型"}

var marketPositions = []string{"行业龙头", "区域领先", "成长期", "初创期"}

// Trade names (字号) and industries of the generated companies.
var tradeNames = []string{
	"华信", "中科", "鼎盛", "恒通", "瑞丰", "远航", "嘉禾", "金桥", "博远", "天成", "宏达", "新元", "卓越", "汇智",
	"长城", "东方", "星河", "润泽", "安泰", "银河", "同创", "正源", "启明", "九州", "联创", "盛世", "永信", "华夏",
	"信达", "海纳", "蓝海", "方圆", "万通", "和美", "德隆", "弘毅", "广源", "致远", "明德", "凯旋",
}

type industry struct {
	name, scope string
	category    string // customer category
	nature      string // nature taxonomy term
}

var industries = []industry{
	{"科技", "技术开发、技术咨询、技术服务；软件开发；计算机系统服务", "corporate", "company"},
	{"信息技术", "信息系统集成服务；数据处理和存储服务；软件开发", "corporate", "company"},
	{"贸易", "货物进出口；技术进出口；销售日用品、电子产品、机械设备", "trade", "company"},
	{"建筑工程", "建设工程施工；建筑劳务分包；工程管理服务", "corporate", "company"},
	{"医药", "药品批发；医疗器械销售；医药技术开发", "corporate", "partner"},
	{"物流", "道路货物运输；仓储服务；国际货物运输代理", "trade", "partner"},
	{"文化传媒", "组织文化艺术交流活动；广告设计、代理、发布；影视策划", "corporate", "company"},
	{"餐饮管理", "餐饮服务；餐饮管理；食品经营", "corporate", "company"},
	{"投资管理", "投资管理；资产管理；企业管理咨询", "corporate", "special_partner"},
	{"电子", "电子元器件制造与销售；集成电路设计", "corporate", "company"},
	{"环保科技", "环保技术开发；污水处理及其再生利用；固体废物治理", "corporate", "company"},
	{"食品", "食品生产；食品销售；农副产品收购", "trade", "company"},
	{"企业管理咨询", "企业管理咨询；财务咨询；市场调查", "corporate", "company"},
	{"珠宝", "金银制品销售；珠宝首饰零售；工艺美术品销售", "trade", "company"},
}

var highRiskReasons = []string{
	"客户从事贵金属及珠宝交易，属高风险行业",
	"资金来源说明不充分，近期频繁大额现金存取",
	"涉及高风险国家或地区的跨境资金往来",
	"客户为外国政要（PEP）的关联人",
	"受益所有人身份难以穿透识别",
	"账户交易模式与其职业及收入明显不符",
}

// foreigner is a customer identified by a travel permit or passport.
type foreigner struct {
	name, sex, birth, nationality string
	idType, idPrefix, authority   string
	digits                        int
	address, occupation, employer string
}

var foreigners = []foreigner{
	{"陈家豪", "M", "1978-04-12", "CN", "hk_macao_travel_permit", "H", "公安部出入境管理局", 8, "香港九龙尖沙咀弥敦道132号美丽华大厦15楼", "投资顾问", "汇丰环球投资管理（香港）有限公司"},
	{"黄嘉欣", "F", "1989-09-03", "CN", "hk_macao_travel_permit", "H", "公安部出入境管理局", 8, "香港港岛铜锣湾轩尼诗道500号", "市场总监", "香港置地集团"},
	{"何志明", "M", "1965-11-20", "CN", "hk_macao_travel_permit", "M", "公安部出入境管理局", 8, "澳门新马路61号永光广场9楼", "酒店经理", "澳门旅游娱乐股份有限公司"},
	{"John Michael Smith", "M", "1975-06-30", "US", "passport", "5", "U.S. Department of State", 8, "1200 Pennsylvania Ave, Washington DC", "首席财务官", "通用电气（中国）有限公司"},
	{"田中健一", "M", "1982-02-14", "JP", "passport", "TK", "外務省", 7, "東京都港区六本木6-10-1", "技术总监", "松下电器（中国）有限公司"},
	{"Anna Müller", "F", "1986-08-08", "DE", "passport", "C01X", "Stadt München", 5, "Leopoldstraße 28, 80802 München", "咨询顾问", "西门子（中国）有限公司"},
}

// The housing estate whose buildings the demo butler looks after (R-A9).
const (
	estateName   = "锦绣家园"
	estateRegion = "110105"
	estateStreet = "望京街"
)

var estateBuildings = []string{"1号楼", "2号楼", "3号楼"}

var mobilePrefixes = []string{"130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
	"155", "156", "158", "159", "177", "180", "181", "182", "185", "186", "187", "188", "189", "199"}

var emailDomains = []string{"163.com", "126.com", "sina.com", "outlook.com", "gmail.com", "foxmail.com"}
