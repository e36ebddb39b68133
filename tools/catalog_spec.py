"""The onetrip catalog as plain Python data: departments, materials, matters, bundles.

``tools/catalog_gen.py`` turns this into ``bpmn/*.bpmn``, ``processes/*.toml`` and
``processes/README.md``.  Nothing here knows about XML or layout.

A model (``before`` / ``after``) is a list of items run one after another:

* a step (``user`` / ``manual`` / ``service``): ``key`` (ASCII, becomes the
  element id ``Task_<key>``), Chinese ``name``, ``lane`` (department), and the
  DESIGN.md annotations: ``days`` (workdays), ``onsite``, ``needs`` (material
  ids the step requires, space separated), ``issues`` (documents the step
  hands out) and ``uses`` (results of other steps it works on, never asked from
  the applicant).  ``returns="question"`` adds the return-for-correction loop: an
  exclusive gateway after the step whose ``returned`` flow leads to a 补正材料
  step (``clock=stop``, ``step=false``; ``onsite`` = ``fix_onsite``, default
  the step's own ``onsite``) looping back to the step.
* ``par(key, branch, branch, ...)``: a parallel split and join; each branch is a
  list of items.

A material's ``source`` is derived per model: ``applicant`` when a human step
needs it, otherwise ``issued`` when a step issues it, otherwise ``shared`` (only
service tasks fetch it: 数据共享免提交).
"""
from __future__ import annotations

from functools import partial

# ------------------------------------------------------------------ departments
WIN = "政务服务中心综合窗口"
SCJG = "市场监督管理局"
SWJ = "税务局"
GAJ = "公安局"
WJW = "卫生健康委员会"
YBJ = "医疗保障局"
RSJ = "人力资源和社会保障局"
GJJ = "住房公积金管理中心"
BDC = "自然资源和规划局(不动产登记中心)"
ZJJ = "住房和城乡建设局"
JTJ = "交通运输局"
CLH = "残疾人联合会"

#: department -> ASCII tag used in lane ids (``Lane_<tag>``)
LANE_IDS = {
    WIN: "ZWFW", SCJG: "SCJG", SWJ: "SWJ", GAJ: "GAJ", WJW: "WJW", YBJ: "YBJ",
    RSJ: "RSJ", GJJ: "GJJ", BDC: "BDC", ZJJ: "ZJJ", JTJ: "JTJ", CLH: "CLH",
}

#: 事项类型 codes (国家政务服务事项基本目录)
TYPE_NAMES = {
    "01": "行政许可", "05": "行政给付", "07": "行政确认", "08": "行政奖励",
    "10": "其他行政权力", "20": "公共服务",
}

# -------------------------------------------------------------------- materials
#: material id (ASCII snake_case, the same in every model) -> Chinese name
MATERIALS = {
    # identity and family
    "id_card": "居民身份证",
    "household_register": "居民户口簿",
    "marriage_certificate": "结婚证",
    "id_photo": "近期免冠证件照片",
    "agent_authorization": "授权委托书",
    "bank_card": "本人银行卡",
    "labor_contract": "劳动合同",
    "birth_medical_certificate": "出生医学证明",
    "social_security_card": "社会保障卡",
    "residence_permit": "居住证",
    # enterprise start-up
    "business_license": "营业执照",
    "premises_certificate": "住所(经营场所)使用证明",
    "name_approval_application": "企业名称预先核准申请书",
    "name_approval_notice": "企业名称预先核准通知书",
    "company_registration_application": "公司登记(备案)申请书",
    "articles_of_association": "公司章程",
    "legal_rep_appointment": "法定代表人、董事、监事和经理任职文件",
    "shareholder_qualification": "股东主体资格证明",
    "startup_application": "企业开办一表通申请表",
    "seal_filing_form": "印章刻制备案登记表",
    "official_seal": "企业印章",
    "taxpayer_info_form": "新办纳税人信息确认表",
    "bank_account_license": "基本存款账户信息(开户许可证)",
    "invoice_application": "发票票种核定申请表",
    "invoice": "发票(数电票)",
    "social_insurance_registration_form": "社会保险登记表",
    "social_insurance_certificate": "社会保险登记证",
    "hpf_registration_form": "住房公积金单位缴存登记表",
    "individual_business_application": "个体工商户登记申请书",
    # food business
    "food_license_application": "食品经营许可申请书",
    "premises_layout": "经营场所平面图及设备布局图",
    "equipment_list": "主要设备设施清单",
    "food_safety_rules": "食品安全管理制度",
    "food_safety_staff_certificate": "食品安全管理人员培训考核证明",
    "health_certificate": "从业人员健康证明",
    "food_license": "食品经营许可证",
    # real estate
    "property_certificate": "不动产权证书",
    "property_registration_application": "不动产登记申请书",
    "house_sale_contract": "存量房买卖合同",
    "tax_declaration_form": "契税纳税申报表",
    "tax_payment_certificate": "完税证明",
    "mortgage_contract": "抵押合同",
    "loan_contract": "主债权合同(借款合同)",
    "mortgagee_qualification": "抵押权人金融许可证及营业执照",
    "mortgage_certificate": "不动产登记证明(抵押权)",
    # housing provident fund, social insurance, medical insurance
    "hpf_withdrawal_application": "住房公积金提取申请书",
    "withdrawal_proof": "提取证明材料(购房合同、退休证明等)",
    "insurance_transfer_application": "基本养老保险关系转移接续申请表",
    "insurance_payment_certificate": "参保缴费凭证",
    "medical_filing_form": "异地就医备案登记表",
    "residence_proof": "居住证明(居住证、房屋租赁合同等)",
    "work_proof": "异地工作证明",
    "referral_certificate": "转诊证明",
    "medical_insurance_form": "城乡居民基本医疗保险参保登记表",
    "social_security_card_form": "社会保障卡申领登记表",
    "retirement_application": "职工退休申报表",
    "personnel_file": "职工人事档案",
    "retirement_approval": "退休审批表(退休证)",
    "pension_application": "基本养老金申领表",
    "retiree_medical_application": "退休人员医保待遇申请表",
    "retirement_onething_form": "退休一件事联办申请表",
    # birth, household, residence, disability
    "birth_certificate_application": "出生医学证明首次签发登记表",
    "household_application": "出生户口登记申报表",
    "birth_onething_form": "出生一件事联办申请表",
    "residence_permit_form": "居住证申领登记表",
    "employment_proof": "就业或就读证明",
    "disability_card_application": "残疾人证申请表",
    "medical_records": "病历及诊断证明",
    "disability_assessment": "残疾评定表",
    "disability_card": "中华人民共和国残疾人证",
    # construction and transport
    "construction_permit_application": "建筑工程施工许可证申请表",
    "land_use_certificate": "建设用地批准文件",
    "planning_permit": "建设工程规划许可证",
    "bid_award_notice": "中标通知书",
    "construction_contract": "施工合同",
    "supervision_contract": "监理合同",
    "drawing_review_certificate": "施工图设计文件审查合格书",
    "quality_safety_plan": "保证工程质量和安全的具体措施",
    "funding_commitment": "建设资金已落实承诺书",
    "site_condition_proof": "施工场地具备施工条件证明",
    "construction_permit": "建筑工程施工许可证",
    "road_transport_application": "道路货物运输经营申请表",
    "vehicle_license": "机动车行驶证",
    "vehicle_inspection_report": "车辆技术检测报告",
    "driver_license": "机动车驾驶证",
    "driver_qualification_certificate": "道路运输从业资格证",
    "safety_management_rules": "安全生产管理制度文本",
    "parking_lot_proof": "停车场地证明",
    "road_transport_permit": "道路运输经营许可证",
}


# ------------------------------------------------------------------ constructors
def step(tag, key, name, lane, days=0, *, onsite=False, needs="", issues="", uses="",
         returns=None, fix_onsite=None):
    """One task.  ``tag`` is the BPMN element: userTask, manualTask or serviceTask."""
    return {"kind": "step", "tag": tag, "key": key, "name": name, "lane": lane,
            "days": days, "onsite": onsite, "needs": tuple(needs.split()),
            "issues": tuple(issues.split()), "uses": tuple(uses.split()), "returns": returns,
            "fix_onsite": onsite if fix_onsite is None else fix_onsite}


user = partial(step, "userTask")
manual = partial(step, "manualTask")
service = partial(step, "serviceTask")


def par(key, *branches):
    """Parallel split/join around ``branches`` (each a list of items)."""
    return {"kind": "par", "key": key, "branches": tuple(tuple(b) for b in branches)}


CHECK_PAPERS = "材料是否齐全"
CHECK_REVIEW = "审查是否通过"


def accept(lane, needs, days=1, name="窗口受理", key="Accept"):
    """Counter acceptance: the applicant hands in papers in person."""
    return user(key, name, lane, days, onsite=True, needs=needs, returns=CHECK_PAPERS)


def apply_online(lane, needs, days=0, name="网上申请受理(受理即审查)", key="Apply", onsite=False):
    """Online application pre-reviewed on receipt; corrections are made online too."""
    return user(key, name, lane, days, onsite=onsite, needs=needs, returns=CHECK_PAPERS)


def review(lane, days, name="材料审查", key="Review", returns=CHECK_REVIEW, fix_onsite=True):
    return user(key, name, lane, days, returns=returns, fix_onsite=fix_onsite)


def decide(lane, days, name="审批决定", key="Approve", issues="", uses=""):
    return user(key, name, lane, days, issues=issues, uses=uses)


def collect(lane, issues, days=1, name="窗口领取证照", key="Collect"):
    """The applicant comes back to pick up the result."""
    return manual(key, name, lane, days, onsite=True, issues=issues)


def fetch(lane, needs, name="数据共享获取材料", key="Fetch"):
    """Materials obtained from other departments' databases (免提交)."""
    return service(key, name, lane, needs=needs)


def deliver(lane, issues="", name="电子证照推送及邮寄送达", key="Deliver", days=0):
    return service(key, name, lane, days, issues=issues)


def matter(code, name, department, type_code, *, statutory, promised, service_object,
           legal_basis, annual_volume, before, after, props="camunda"):
    """A matter: manifest fields plus its before/after models.

    ``promised`` is the manifest's 承诺办结时限 and must equal the critical-path
    sum of the ``after`` model's step days (the generator checks).  ``props`` is
    the extension-property dialect: camunda, zeebe or spiffworkflow.
    """
    return {"kind": "matter", "code": code, "name": name, "department": department,
            "type_code": type_code, "statutory": statutory, "promised": promised,
            "service_object": tuple(service_object), "legal_basis": legal_basis,
            "annual_volume": annual_volume, "before": tuple(before), "after": tuple(after),
            "props": props}


def bundle(code, name, department, type_code, *, members, promised, legal_basis,
           annual_volume, after):
    """A 一件事 bundle.  Its ``before`` model chains the members' ``before`` models;
    statutory limit and service objects are taken from the members."""
    return {"kind": "bundle", "code": code, "name": name, "department": department,
            "type_code": type_code, "members": tuple(members), "promised": promised,
            "legal_basis": legal_basis, "annual_volume": annual_volume,
            "after": tuple(after), "props": "camunda"}


# ======================================================================= matters
MATTERS = (
    # ------------------------------------------------------------ 企业开办 members
    matter(
        "QYSLDJ", "企业设立登记", SCJG, "01", statutory=15, promised=1,
        service_object=["企业法人"],
        legal_basis="《中华人民共和国市场主体登记管理条例》第十九条",
        annual_volume=52000,
        before=[
            user("NameCheck", "企业名称预先核准", SCJG, 2, onsite=True,
                 needs="name_approval_application id_card", issues="name_approval_notice",
                 returns=CHECK_PAPERS),
            accept(SCJG, "company_registration_application articles_of_association id_card "
                         "name_approval_notice premises_certificate legal_rep_appointment "
                         "shareholder_qualification agent_authorization", name="设立登记窗口受理"),
            review(SCJG, 5),
            decide(SCJG, 1, name="核准登记"),
            collect(SCJG, "business_license", name="窗口领取营业执照"),
        ],
        after=[
            apply_online(SCJG, "company_registration_application articles_of_association",
                         name="名称自主申报与设立登记网上受理"),
            par("Verify",
                [fetch(SCJG, "id_card", name="人脸识别与身份信息核验", key="FetchIdentity")],
                [fetch(SCJG, "premises_certificate", name="住所信息共享核验", key="FetchPremises")]),
            decide(SCJG, 1, name="审核登记(审批合一)", issues="business_license"),
            deliver(SCJG, name="发放电子营业执照并免费邮寄纸质执照"),
        ]),
    matter(
        "GZKZBA", "公章刻制备案", GAJ, "10", statutory=3, promised=0,
        service_object=["企业法人", "非法人企业"],
        legal_basis="《国务院对确需保留的行政审批项目设定行政许可的决定》(国务院令第412号)；《印铸刻字业暂行管理规则》",
        annual_volume=25000,
        before=[
            accept(GAJ, "business_license id_card seal_filing_form agent_authorization",
                   days=0, name="刻章备案窗口受理"),
            review(GAJ, 1, name="备案审核"),
            collect(GAJ, "official_seal", name="刻章企业领取印章"),
        ],
        after=[
            fetch(GAJ, "business_license id_card", name="共享电子营业执照与身份信息"),
            apply_online(GAJ, "seal_filing_form", name="网上刻章备案确认"),
            deliver(GAJ, "official_seal", name="免费刻制并随营业执照寄递印章"),
        ]),
    matter(
        "FPSL", "发票申领", SWJ, "20", statutory=5, promised=1,
        service_object=["企业法人", "非法人企业"],
        legal_basis="《中华人民共和国发票管理办法》第十五条",
        annual_volume=20000,
        before=[
            accept(SWJ, "business_license id_card taxpayer_info_form premises_certificate "
                        "bank_account_license", name="新办纳税人信息确认(窗口受理)"),
            user("InvoiceType", "发票票种核定", SWJ, 2, onsite=True,
                 needs="invoice_application agent_authorization", returns=CHECK_PAPERS),
            user("TaxDevice", "税控设备发行", SWJ, 1),
            collect(SWJ, "invoice", name="窗口领取发票"),
        ],
        after=[
            apply_online(SWJ, "invoice_application", name="新办纳税人套餐网上申请"),
            fetch(SWJ, "business_license id_card bank_account_license",
                  name="共享登记、身份及账户信息"),
            decide(SWJ, 1, name="票种核定与发票发放", issues="invoice"),
            deliver(SWJ, name="开通数电票并推送电子发票"),
        ]),
    matter(
        "QYSBDJ", "单位社会保险登记", RSJ, "07", statutory=15, promised=0,
        service_object=["企业法人", "非法人企业", "事业单位法人", "社会组织法人"],
        legal_basis="《中华人民共和国社会保险法》第五十七条",
        annual_volume=18000,
        before=[
            accept(RSJ, "business_license id_card social_insurance_registration_form "
                        "bank_account_license", name="社保登记窗口受理"),
            review(RSJ, 1, name="审核登记"),
            collect(RSJ, "social_insurance_certificate", days=0, name="领取社会保险登记证"),
        ],
        after=[
            fetch(RSJ, "business_license id_card", name="共享企业登记信息"),
            apply_online(RSJ, "social_insurance_registration_form", name="登记信息网上确认"),
            deliver(RSJ, "social_insurance_certificate", name="自动完成社保登记并推送电子凭证"),
        ]),
    matter(
        "GJJDWDJ", "住房公积金单位缴存登记", GJJ, "20", statutory=5, promised=0,
        service_object=["企业法人", "非法人企业", "事业单位法人", "社会组织法人"],
        legal_basis="《住房公积金管理条例》第十四条",
        annual_volume=10000,
        before=[
            accept(GJJ, "business_license id_card hpf_registration_form agent_authorization "
                        "bank_account_license", days=0, name="缴存登记窗口受理"),
            review(GJJ, 1, name="登记审核"),
            manual("Collect", "领取缴存登记回执", GJJ, 0, onsite=True),
        ],
        after=[
            fetch(GJJ, "business_license id_card", name="共享企业登记信息"),
            apply_online(GJJ, "hpf_registration_form", name="缴存登记网上确认"),
            deliver(GJJ, name="推送电子缴存登记回执"),
        ]),
    # ------------------------------------------------------------- 市场监管 others
    matter(
        "SPJYXK", "食品经营许可", SCJG, "01", statutory=20, promised=3,
        service_object=["企业法人", "非法人企业", "自然人"],
        legal_basis="《中华人民共和国食品安全法》第三十五条；《中华人民共和国行政许可法》第四十二条",
        annual_volume=8000,
        before=[
            accept(SCJG, "food_license_application business_license id_card premises_layout "
                         "equipment_list food_safety_rules food_safety_staff_certificate "
                         "health_certificate"),
            review(SCJG, 3),
            user("Inspect", "经营场所现场核查", SCJG, 5),
            decide(SCJG, 5, name="许可决定"),
            collect(SCJG, "food_license", name="窗口领取食品经营许可证"),
        ],
        after=[
            apply_online(SCJG, "food_license_application premises_layout", days=1,
                         name="网上受理即审查(告知承诺)"),
            fetch(SCJG, "business_license id_card health_certificate",
                  name="共享营业执照、身份及健康证明"),
            decide(SCJG, 2, name="现场核查与许可决定(审核合一)", issues="food_license"),
            deliver(SCJG, name="发放电子许可证并邮寄纸质证书"),
        ]),
    matter(
        "GTGSHDJ", "个体工商户登记", SCJG, "01", statutory=15, promised=0,
        service_object=["自然人"],
        legal_basis="《促进个体工商户发展条例》；《中华人民共和国市场主体登记管理条例》第十九条",
        annual_volume=60000, props="zeebe",
        before=[
            accept(SCJG, "individual_business_application id_card premises_certificate "
                         "id_photo agent_authorization"),
            review(SCJG, 3),
            collect(SCJG, "business_license", name="窗口领取营业执照"),
        ],
        after=[
            apply_online(SCJG, "individual_business_application",
                         name="网上申请当场登记(受理即审查)"),
            fetch(SCJG, "id_card premises_certificate", name="共享身份与住所信息"),
            deliver(SCJG, "business_license", name="自动生成电子营业执照"),
        ]),
    # ------------------------------------------------------------------ 不动产
    matter(
        "BDCZYDJ", "不动产转移登记", BDC, "07", statutory=30, promised=3,
        service_object=["自然人", "企业法人"],
        legal_basis="《不动产登记暂行条例》第二十条；《不动产登记暂行条例实施细则》",
        annual_volume=60000,
        before=[
            user("Filing", "存量房买卖合同网签备案", ZJJ, 1, onsite=True,
                 needs="house_sale_contract id_card property_certificate", returns=CHECK_PAPERS),
            user("TaxAccept", "契税申报与缴纳", SWJ, 1, onsite=True,
                 needs="house_sale_contract id_card property_certificate tax_declaration_form "
                       "household_register marriage_certificate",
                 issues="tax_payment_certificate", returns=CHECK_PAPERS),
            accept(BDC, "property_registration_application id_card property_certificate "
                        "house_sale_contract tax_payment_certificate", name="登记窗口受理"),
            review(BDC, 10, name="登记审核"),
            decide(BDC, 1, name="登簿", key="Register"),
            collect(BDC, "property_certificate", name="窗口领取不动产权证书"),
        ],
        after=[
            user("Accept", "交易、税务、登记一窗受理(面签)", WIN, 0, onsite=True,
                 needs="house_sale_contract property_registration_application",
                 returns=CHECK_PAPERS),
            fetch(WIN, "id_card property_certificate household_register marriage_certificate",
                  name="共享身份、婚姻、户籍及产权信息"),
            par("Parallel",
                [user("Tax", "税费核定征收", SWJ, 1)],
                [service("FilingCheck", "网签备案信息核验", ZJJ)]),
            decide(BDC, 2, name="审核登簿(审核合一)", key="Register"),
            deliver(BDC, "property_certificate", name="发放电子不动产权证书并邮寄"),
        ]),
    matter(
        "BDCDYDJ", "不动产抵押登记", BDC, "07", statutory=30, promised=1,
        service_object=["自然人", "企业法人"],
        legal_basis="《中华人民共和国民法典》第四百零二条；《不动产登记暂行条例》第二十条",
        annual_volume=50000,
        before=[
            accept(BDC, "property_registration_application id_card property_certificate "
                        "mortgage_contract loan_contract mortgagee_qualification "
                        "agent_authorization"),
            review(BDC, 4, name="登记审核"),
            decide(BDC, 1, name="登簿", key="Register"),
            collect(BDC, "mortgage_certificate", name="窗口领取不动产登记证明"),
        ],
        after=[
            apply_online(BDC, "mortgage_contract loan_contract",
                         name="银行网点线上申请(不动产登记+金融)"),
            fetch(BDC, "id_card property_certificate mortgagee_qualification",
                  name="共享身份、产权及金融机构信息"),
            decide(BDC, 1, name="审核登簿(审核合一)", key="Register"),
            deliver(BDC, "mortgage_certificate", name="推送电子不动产登记证明"),
        ]),
    # ------------------------------------------------------- 公积金、社保、医保
    matter(
        "ZFGJJTQ", "住房公积金提取", GJJ, "20", statutory=3, promised=0,
        service_object=["自然人"],
        legal_basis="《住房公积金管理条例》第二十四条、第二十五条",
        annual_volume=300000,
        before=[
            accept(GJJ, "hpf_withdrawal_application id_card bank_card withdrawal_proof "
                        "marriage_certificate"),
            review(GJJ, 1, name="提取审核"),
            decide(GJJ, 1, name="提取审批"),
            manual("Collect", "领取提取回执与转账凭证", GJJ, 0, onsite=True),
        ],
        after=[
            apply_online(GJJ, "hpf_withdrawal_application", name="网上提取申请审核(秒批)"),
            fetch(GJJ, "id_card bank_card withdrawal_proof marriage_certificate",
                  name="共享身份、婚姻、产权或退休信息"),
            deliver(GJJ, name="资金实时划转到账"),
        ]),
    matter(
        "SBGXZY", "社会保险关系转移", RSJ, "20", statutory=45, promised=15,
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第十九条；《城镇企业职工基本养老保险关系转移接续暂行办法》",
        annual_volume=30000,
        before=[
            user("IssueCert", "转出地开具参保缴费凭证", RSJ, 1, onsite=True,
                 needs="id_card", issues="insurance_payment_certificate"),
            accept(RSJ, "insurance_transfer_application id_card insurance_payment_certificate "
                        "labor_contract household_register", name="转入地窗口受理"),
            user("Letter", "转入地审核并发出联系函", RSJ, 14),
            user("TransferOut", "转出地核对并转出基金", RSJ, 15),
            user("Receive", "转入地核对接续", RSJ, 14),
            manual("Notify", "领取转移接续结果", RSJ, 0, onsite=True),
        ],
        after=[
            apply_online(RSJ, "insurance_transfer_application", name="掌上申请转移接续"),
            fetch(RSJ, "id_card insurance_payment_certificate labor_contract",
                  name="全国社保转移平台获取参保与就业信息"),
            user("TransferOut", "转出地线上核对转出", RSJ, 5),
            user("Receive", "转入地审核接续", RSJ, 10),
            deliver(RSJ, name="推送转移接续结果"),
        ]),
    matter(
        "YBYDJYBA", "医保异地就医备案", YBJ, "20", statutory=5, promised=0,
        service_object=["自然人"],
        legal_basis="《国家医保局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》(医保发〔2022〕22号)",
        annual_volume=40000,
        before=[
            accept(YBJ, "medical_filing_form id_card social_security_card residence_proof "
                        "referral_certificate work_proof"),
            review(YBJ, 3, name="备案审核"),
            decide(YBJ, 1, name="备案确认"),
            manual("Collect", "领取备案回执", YBJ, 0, onsite=True),
        ],
        after=[
            apply_online(YBJ, "medical_filing_form", name="国家医保服务平台备案(承诺制)"),
            fetch(YBJ, "id_card social_security_card", name="共享身份与参保信息"),
            deliver(YBJ, name="备案即时生效并推送"),
        ]),
    # ------------------------------------------------------------ 出生 members
    matter(
        "CSYXZM", "出生医学证明", WJW, "07", statutory=5, promised=1,
        service_object=["自然人"],
        legal_basis="《中华人民共和国母婴保健法》第二十三条",
        annual_volume=35000,
        before=[
            user("Register", "住院期间登记签发信息", WJW, 1,
                 needs="birth_certificate_application id_card", returns=CHECK_PAPERS),
            user("Verify", "核对分娩记录", WJW, 2),
            decide(WJW, 1, name="审核签发", key="Sign"),
            collect(WJW, "birth_medical_certificate", name="出院后窗口领取出生医学证明"),
        ],
        after=[
            apply_online(WJW, "birth_certificate_application", name="床旁或网上登记签发信息"),
            fetch(WJW, "id_card", name="共享父母身份与分娩信息"),
            decide(WJW, 1, name="审核签发", key="Sign", issues="birth_medical_certificate"),
            deliver(WJW, name="生成电子出生医学证明"),
        ]),
    matter(
        "XSELH", "新生儿落户", GAJ, "07", statutory=10, promised=1,
        service_object=["自然人"],
        legal_basis="《中华人民共和国户口登记条例》第七条",
        annual_volume=33000,
        before=[
            accept(GAJ, "household_application birth_medical_certificate household_register "
                        "id_card marriage_certificate", name="派出所户籍窗口受理"),
            review(GAJ, 3, name="户籍民警审核"),
            decide(GAJ, 2, name="派出所审批"),
            collect(GAJ, "household_register", name="领取户口簿"),
        ],
        after=[
            apply_online(GAJ, "household_application", name="网上申报出生登记"),
            fetch(GAJ, "birth_medical_certificate household_register id_card marriage_certificate",
                  name="共享出生医学证明、户籍与婚姻信息"),
            decide(GAJ, 1, name="审核审批(审批合一)", issues="household_register"),
            deliver(GAJ, name="户口簿邮寄送达"),
        ]),
    matter(
        "YBCBDJ", "医保参保登记", YBJ, "20", statutory=5, promised=0,
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第二十五条；《医疗保障基金使用监督管理条例》",
        annual_volume=34000,
        before=[
            accept(YBJ, "medical_insurance_form household_register birth_medical_certificate "
                        "id_card", name="医保窗口受理"),
            review(YBJ, 2, name="参保资格审核"),
            decide(YBJ, 1, name="参保登记", key="Register"),
            user("Pay", "缴费信息确认", YBJ, 0),
        ],
        after=[
            fetch(YBJ, "household_register birth_medical_certificate id_card",
                  name="共享户籍与出生信息"),
            apply_online(YBJ, "medical_insurance_form", name="参保登记网上确认"),
            deliver(YBJ, name="自动参保并推送缴费通知"),
        ]),
    matter(
        "SBKSL", "社会保障卡申领", RSJ, "20", statutory=20, promised=5,
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》；《社会保障卡管理办法》",
        annual_volume=100000,
        before=[
            accept(RSJ, "social_security_card_form id_photo household_register id_card",
                   name="社保卡窗口受理"),
            review(RSJ, 2, name="申领信息审核"),
            user("Make", "制卡", RSJ, 12),
            collect(RSJ, "social_security_card", name="合作银行网点领卡"),
        ],
        after=[
            apply_online(RSJ, "social_security_card_form id_photo", name="网上申领社保卡"),
            fetch(RSJ, "id_card household_register", name="共享身份与户籍信息"),
            service("Make", "自动制卡", RSJ, 5),
            deliver(RSJ, "social_security_card", name="社保卡邮寄送达并签发电子社保卡"),
        ]),
    # ------------------------------------------------------------- 退休 members
    matter(
        "ZGTXSP", "职工退休审批", RSJ, "07", statutory=20, promised=5,
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第十六条；《国务院关于工人退休、退职的暂行办法》(国发〔1978〕104号)",
        annual_volume=25000,
        before=[
            accept(RSJ, "retirement_application id_card personnel_file household_register "
                        "id_photo labor_contract", days=2, name="退休申报窗口受理"),
            review(RSJ, 8, name="档案审核(出生时间、工龄认定)"),
            decide(RSJ, 3, name="退休审批"),
            collect(RSJ, "retirement_approval", days=2, name="领取退休审批表"),
        ],
        after=[
            apply_online(RSJ, "retirement_application", name="网上退休申报"),
            fetch(RSJ, "id_card household_register labor_contract personnel_file",
                  name="共享身份、户籍、就业及电子档案信息"),
            decide(RSJ, 5, name="审核审批(审批合一)", issues="retirement_approval"),
            deliver(RSJ, name="推送电子退休证"),
        ]),
    matter(
        "YLJLQ", "基本养老金申领", RSJ, "05", statutory=20, promised=3,
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第十六条",
        annual_volume=25000,
        before=[
            accept(RSJ, "pension_application id_card retirement_approval bank_card id_photo",
                   name="待遇申领窗口受理"),
            user("Calculate", "养老金待遇核定", RSJ, 7),
            decide(RSJ, 2, name="待遇复核"),
            manual("Notify", "领取待遇核定表", RSJ, 0, onsite=True),
        ],
        after=[
            fetch(RSJ, "retirement_approval id_card bank_card",
                  name="共享退休审批、身份及社保卡金融账户信息"),
            user("Calculate", "养老金待遇核定(免申即享)", RSJ, 3),
            deliver(RSJ, name="推送待遇核定结果并按月发放"),
        ]),
    matter(
        "YBTXDY", "退休人员医保待遇核定", YBJ, "07", statutory=15, promised=2,
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第二十七条",
        annual_volume=24000,
        before=[
            accept(YBJ, "retiree_medical_application id_card retirement_approval "
                        "insurance_payment_certificate", name="医保窗口受理"),
            review(YBJ, 7, name="缴费年限核定"),
            decide(YBJ, 2, name="待遇审批"),
            manual("Collect", "领取待遇核定结果", YBJ, 0, onsite=True),
        ],
        after=[
            fetch(YBJ, "retirement_approval id_card insurance_payment_certificate",
                  name="共享退休审批与缴费记录"),
            user("Verify", "缴费年限核定(免申即享)", YBJ, 2),
            deliver(YBJ, name="退休医保待遇自动生效"),
        ]),
    # ----------------------------------------------------------------- 其他事项
    matter(
        "JZZBL", "居住证办理", GAJ, "07", statutory=15, promised=5,
        service_object=["自然人"],
        legal_basis="《居住证暂行条例》(国务院令第663号)",
        annual_volume=120000, props="zeebe",
        before=[
            accept(GAJ, "residence_permit_form id_card id_photo residence_proof employment_proof",
                   name="派出所窗口受理"),
            user("Verify", "居住信息实地核查", GAJ, 7),
            decide(GAJ, 2, name="审核审批"),
            user("Make", "制作居住证", GAJ, 4),
            collect(GAJ, "residence_permit", name="窗口领取居住证"),
        ],
        after=[
            apply_online(GAJ, "residence_permit_form", name="网上申请居住证"),
            fetch(GAJ, "id_card id_photo residence_proof employment_proof",
                  name="共享身份、照片、租赁备案及参保信息"),
            decide(GAJ, 5, name="审核制证", issues="residence_permit"),
            deliver(GAJ, name="居住证邮寄送达"),
        ]),
    matter(
        "CJRZSL", "残疾人证申领", CLH, "20", statutory=30, promised=10,
        service_object=["自然人"],
        legal_basis="《中华人民共和国残疾人保障法》；《中华人民共和国残疾人证管理办法》",
        annual_volume=6000, props="spiffworkflow",
        before=[
            accept(CLH, "disability_card_application id_card household_register id_photo "
                        "medical_records", name="残联窗口受理"),
            user("Assess", "指定医疗机构残疾评定", WJW, 10, onsite=True,
                 issues="disability_assessment"),
            user("Review", "提交评定表并审核", CLH, 5, onsite=True,
                 needs="disability_assessment", returns=CHECK_REVIEW),
            decide(CLH, 5),
            collect(CLH, "disability_card", days=3, name="窗口领取残疾人证"),
        ],
        after=[
            apply_online(CLH, "disability_card_application medical_records",
                         name="网上或社区代办申请"),
            fetch(CLH, "id_card household_register id_photo", name="共享身份、户籍及照片信息"),
            user("Assess", "指定医疗机构残疾评定", WJW, 7, onsite=True,
                 issues="disability_assessment"),
            decide(CLH, 3, name="审核审批(审批合一)", issues="disability_card",
                   uses="disability_assessment"),
            deliver(CLH, name="签发电子残疾人证并邮寄实体证"),
        ]),
    matter(
        "JSGCSGXK", "建设工程施工许可", ZJJ, "01", statutory=7, promised=1,
        service_object=["企业法人", "事业单位法人"],
        legal_basis="《中华人民共和国建筑法》第八条；《建筑工程施工许可管理办法》",
        annual_volume=800,
        before=[
            accept(ZJJ, "construction_permit_application land_use_certificate planning_permit "
                        "bid_award_notice construction_contract supervision_contract "
                        "drawing_review_certificate quality_safety_plan funding_commitment "
                        "site_condition_proof"),
            review(ZJJ, 4, name="质量安全监督手续审查"),
            decide(ZJJ, 1, name="许可决定"),
            collect(ZJJ, "construction_permit", name="窗口领取施工许可证"),
        ],
        after=[
            apply_online(ZJJ, "construction_permit_application funding_commitment",
                         name="网上受理即审查(告知承诺)"),
            par("Share",
                [fetch(ZJJ, "land_use_certificate planning_permit",
                       name="共享用地与规划许可信息", key="FetchPlanning")],
                [fetch(ZJJ, "bid_award_notice construction_contract supervision_contract",
                       name="共享招投标与合同备案信息", key="FetchContracts")],
                [fetch(ZJJ, "drawing_review_certificate", name="共享联合审图结果",
                       key="FetchDrawings")]),
            decide(ZJJ, 1, name="审批决定(审批合一)", issues="construction_permit"),
            deliver(ZJJ, name="发放电子施工许可证"),
        ]),
    matter(
        "DLYSJYXK", "道路运输经营许可", JTJ, "01", statutory=20, promised=5,
        service_object=["企业法人", "非法人企业", "自然人"],
        legal_basis="《中华人民共和国道路运输条例》；《道路货物运输及站场管理规定》",
        annual_volume=1500, props="spiffworkflow",
        before=[
            accept(JTJ, "road_transport_application id_card business_license vehicle_license "
                        "vehicle_inspection_report driver_license driver_qualification_certificate "
                        "safety_management_rules parking_lot_proof"),
            review(JTJ, 10),
            user("Inspect", "车辆及场地核查", JTJ, 5),
            decide(JTJ, 3, name="许可决定"),
            collect(JTJ, "road_transport_permit", name="窗口领取道路运输经营许可证"),
        ],
        after=[
            apply_online(JTJ, "road_transport_application safety_management_rules", days=1,
                         name="网上申请(受理即审查)"),
            par("Share",
                [fetch(JTJ, "vehicle_license vehicle_inspection_report",
                       name="共享车辆行驶证与检测信息", key="FetchVehicles")],
                [fetch(JTJ, "driver_license driver_qualification_certificate",
                       name="共享驾驶员从业资格信息", key="FetchDrivers")],
                [fetch(JTJ, "id_card business_license", name="共享身份与营业执照",
                       key="FetchLicense")]),
            decide(JTJ, 4, name="审核决定(审批合一)", issues="road_transport_permit"),
            deliver(JTJ, name="发放电子道路运输经营许可证"),
        ]),
)

# ======================================================================= bundles
BUNDLES = (
    bundle(
        "CSYJS", "出生一件事", WJW, "20",
        members=["CSYXZM", "XSELH", "YBCBDJ", "SBKSL"], promised=5,
        legal_basis="《国务院关于进一步优化政务服务提升行政效能推动“高效办成一件事”的指导意见》(国发〔2024〕3号)",
        annual_volume=30000,
        after=[
            user("Accept", "出生一件事联办窗口一次受理", WIN, 1, onsite=True,
                 needs="birth_onething_form id_card", returns=CHECK_PAPERS),
            fetch(WIN, "marriage_certificate household_register", name="共享婚姻与户籍信息"),
            decide(WJW, 2, name="签发出生医学证明", key="Sign",
                   issues="birth_medical_certificate"),
            par("Members",
                [decide(GAJ, 2, name="出生登记审批", key="Household")],
                [service("Insurance", "医保参保登记(自动)", YBJ)],
                [service("Card", "社保卡制卡(自动)", RSJ)]),
            deliver(WIN, "household_register social_security_card",
                    name="证照统一邮寄送达"),
        ]),
    bundle(
        "QYKBYJS", "企业开办一件事", SCJG, "20",
        members=["QYSLDJ", "GZKZBA", "FPSL", "QYSBDJ", "GJJDWDJ"], promised=3,
        legal_basis="《国务院办公厅关于进一步压缩企业开办时间的意见》(国办发〔2018〕32号)",
        annual_volume=20000,
        after=[
            apply_online(WIN, "startup_application articles_of_association",
                         name="企业开办一网通办申报受理"),
            fetch(WIN, "id_card premises_certificate", name="身份核验与住所信息共享"),
            decide(SCJG, 1, name="设立登记审核", key="Register", issues="business_license"),
            par("Members",
                [service("Seal", "公章刻制备案(信息推送)", GAJ, needs="business_license",
                         issues="official_seal")],
                [user("Invoice", "票种核定与发票发放", SWJ, 1, issues="invoice")],
                [service("SocialInsurance", "社保单位登记(自动)", RSJ,
                         needs="business_license")],
                [service("HousingFund", "公积金缴存登记(自动)", GJJ,
                         needs="business_license")]),
            deliver(WIN, days=1, name="营业执照、印章、发票统一免费寄递"),
        ]),
    bundle(
        "TXYJS", "退休一件事", RSJ, "20",
        members=["ZGTXSP", "YLJLQ", "ZFGJJTQ", "YBTXDY"], promised=5,
        legal_basis="《国务院关于进一步优化政务服务提升行政效能推动“高效办成一件事”的指导意见》(国发〔2024〕3号)",
        annual_volume=22000,
        after=[
            apply_online(WIN, "retirement_onething_form", name="退休一件事一网通办受理"),
            fetch(WIN, "id_card household_register labor_contract personnel_file bank_card "
                       "insurance_payment_certificate",
                  name="共享身份、档案、缴费及账户信息"),
            decide(RSJ, 3, name="退休审批", issues="retirement_approval"),
            par("Members",
                [user("Pension", "养老金待遇核定", RSJ, 2)],
                [service("Medical", "医保退休待遇核定(自动)", YBJ)],
                [service("HousingFund", "公积金退休提取(自动)", GJJ,
                         needs="withdrawal_proof")]),
            deliver(WIN, name="推送电子退休证及待遇通知"),
        ]),
)
