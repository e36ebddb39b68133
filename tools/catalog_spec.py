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
MZJ = "民政局"
ZCJG = "助产机构(医院)"
KZQY = "印章刻制企业"
YHWD = "社会保障卡合作银行网点"
CRJ = "公安局出入境管理部门"
JDB = "乡镇人民政府(街道办事处)"

#: department -> ASCII tag used in lane ids (``Lane_<tag>``)
LANE_IDS = {
    WIN: "ZWFW", SCJG: "SCJG", SWJ: "SWJ", GAJ: "GAJ", WJW: "WJW", YBJ: "YBJ",
    RSJ: "RSJ", GJJ: "GJJ", BDC: "BDC", ZJJ: "ZJJ", JTJ: "JTJ", CLH: "CLH",
    MZJ: "MZJ", ZCJG: "ZCJG", KZQY: "KZQY", YHWD: "YHWD", CRJ: "CRJ", JDB: "JDB",
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
    # added with the 35-matter catalog
    "employee_list": "职工参保登记表(花名册)",
    "marriage_declaration": "申请结婚登记声明书",
    "couple_photo": "双方近期半身免冠合影照片",
    "id_card_application": "居民身份证申领登记表",
    "old_id_card": "原居民身份证(换领交回)",
    "passport_application": "中国公民出入境证件申请表",
    "passport": "普通护照",
    "migration_application": "户口迁移申请表",
    "migration_reason_proof": "迁移事由证明(亲属关系、房产或就业证明)",
    "migration_permit": "准予迁入证明",
    "migration_certificate": "户口迁移证",
    "no_crime_application": "无犯罪记录证明申请表",
    "purpose_proof": "用途证明(单位或出国材料)",
    "no_crime_certificate": "无犯罪记录证明",
    "injury_application": "工伤认定申请表",
    "medical_diagnosis": "医疗诊断证明",
    "accident_statement": "事故伤害经过说明及证人证言",
    "injury_decision": "认定工伤决定书",
    "unemployment_application": "失业保险金申领登记表",
    "termination_proof": "终止或者解除劳动合同证明",
    "unemployment_registration": "失业登记证明(就业创业证)",
    "hpf_loan_application": "住房公积金个人住房贷款申请表",
    "purchase_contract": "购房合同",
    "income_proof": "收入证明",
    "down_payment_receipt": "首付款发票或收据",
    "hpf_loan_contract": "住房公积金借款合同",
    "deregistration_application": "注销登记申请书",
    "investor_commitment": "全体投资人承诺书",
    "tax_deregistration_application": "注销税务登记申请表",
    "invoice_stub": "发票领用簿及未验旧发票",
    "tax_clearance": "清税证明",
    "si_deregistration_form": "单位社会保险注销登记表",
    "dibao_application": "最低生活保障申请书",
    "family_income_statement": "家庭收入及财产状况申报表",
    "economic_check_authorization": "家庭经济状况核对授权书",
    "dibao_certificate": "最低生活保障审核确认决定(低保证)",
    "tax_ukey": "税务UKey",
    "retirement_onething_form_paper": "退休一件事纸质确认表",
}


# ------------------------------------------------------------------ constructors
def step(tag, key, name, lane, days=0, *, onsite=False, needs="", issues="", uses="",
         returns=None, fix_onsite=None, why="", counted=True):
    """One task.  ``tag`` is the BPMN element: userTask, manualTask or serviceTask.
    ``why``: in an ``after`` model, why the applicant must still come (a kept trip).
    ``counted=False`` (``step=false``): back-office work that takes time but is no
    办事环节 of the applicant (card production, a records check)."""
    return {"kind": "step", "tag": tag, "key": key, "name": name, "lane": lane,
            "days": days, "onsite": onsite, "needs": tuple(needs.split()),
            "issues": tuple(issues.split()), "uses": tuple(uses.split()), "returns": returns,
            "fix_onsite": onsite if fix_onsite is None else fix_onsite, "why": why,
            "counted": counted}


user = partial(step, "userTask")
manual = partial(step, "manualTask")
service = partial(step, "serviceTask")
#: back-office work with a duration (a clerk completes it; not an applicant-facing step)
backoffice = partial(step, "userTask", counted=False)


def par(key, *branches):
    """Parallel split/join around ``branches`` (each a list of items)."""
    return {"kind": "par", "key": key, "branches": tuple(tuple(b) for b in branches)}


CHECK_PAPERS = "材料是否齐全"
CHECK_REVIEW = "审查是否通过"


def accept(lane, needs, days=1, name="窗口受理", key="Accept", why=""):
    """Counter acceptance: the applicant hands in papers in person."""
    return user(key, name, lane, days, onsite=True, needs=needs, returns=CHECK_PAPERS, why=why)


def apply_online(lane, needs, days=0, name="网上申请受理(受理即审查)", key="Apply"):
    """Online application pre-reviewed on receipt; corrections are made online too."""
    return user(key, name, lane, days, needs=needs, returns=CHECK_PAPERS)


def review(lane, days, name="材料审查", key="Review", returns=CHECK_REVIEW, fix_onsite=True):
    return user(key, name, lane, days, returns=returns, fix_onsite=fix_onsite)


def decide(lane, days, name="审批决定", key="Approve", issues="", uses=""):
    return user(key, name, lane, days, issues=issues, uses=uses)


def collect(lane, issues, days=1, name="窗口领取证照", key="Collect", why=""):
    """The applicant comes back to pick up the result."""
    return manual(key, name, lane, days, onsite=True, issues=issues, why=why)


def fetch(lane, needs, name="数据共享获取材料", key="Fetch"):
    """Materials obtained from other departments' databases (免提交)."""
    return service(key, name, lane, needs=needs)


def deliver(lane, issues="", name="电子证照推送及邮寄送达", key="Deliver", days=0):
    return service(key, name, lane, days, issues=issues)


def matter(code, name, department, type_code, *, legal_basis, promised, service_object,
           annual_volume, before, after, statutory=None, statutory_basis="", time_note="",
           removed=None, sources=(), unverified="", props="camunda"):
    """A matter: manifest fields plus its before/after models.

    ``statutory`` (法定办结时限, working days) only with ``statutory_basis`` (the
    article or document that sets it); without one, ``time_note`` says that no
    law sets a limit and where the promised limit comes from (即办, a local
    promise).  ``promised`` is the manifest's 承诺办结时限 and must equal the
    critical-path sum of the ``after`` model's step days (the generator checks).
    ``removed`` maps every trip the after model no longer needs (the before step's
    ``key``) and every material it no longer asks for (material id) to what removed
    it, a text starting with one of ``engine.catalog.MECHANISMS``.  ``sources``: the texts a
    figure was checked against; ``unverified``: what could not be checked.
    ``props`` is the extension-property dialect: camunda, zeebe or spiffworkflow.
    """
    return {"kind": "matter", "code": code, "name": name, "department": department,
            "type_code": type_code, "statutory": statutory, "statutory_basis": statutory_basis,
            "time_note": time_note, "promised": promised,
            "service_object": tuple(service_object), "legal_basis": legal_basis,
            "annual_volume": annual_volume, "before": tuple(before), "after": tuple(after),
            "removed": dict(removed or {}), "sources": tuple(sources), "unverified": unverified,
            "props": props}


def bundle(code, name, department, type_code, *, members, promised, legal_basis,
           annual_volume, after, removed=None, sources=(), unverified="", time_note=""):
    """A 一件事 bundle.  Its ``before`` model chains the members' ``before`` models;
    service objects are taken from the members.  A bundle sets no statutory limit of
    its own (each member's applies).  ``removed`` needs to name only what the
    members' own ``after`` models did not already remove (keys of member steps are
    ``<MEMBER>_<key>``)."""
    return {"kind": "bundle", "code": code, "name": name, "department": department,
            "type_code": type_code, "members": tuple(members), "promised": promised,
            "statutory": None, "statutory_basis": "",
            "time_note": time_note or "无法定时限：一件事不另设时限，各成员事项的法定时限分别适用；承诺时限为本市一件事联办承诺",
            "legal_basis": legal_basis, "annual_volume": annual_volume,
            "after": tuple(after), "removed": dict(removed or {}), "sources": tuple(sources),
            "unverified": unverified, "props": "camunda"}


# ======================================================================= matters
NO_LIMIT = "无法定时限："
MATTERS = (
    # ------------------------------------------------------------ 企业开办 members
    matter(
        "QYSLDJ", "企业设立登记", SCJG, "01", statutory=3,
        statutory_basis="《中华人民共和国市场主体登记管理条例》第十九条：材料齐全当场登记，不能当场登记的3个工作日内登记，情形复杂的经批准可再延长3个工作日",
        promised=1, service_object=["企业法人"],
        legal_basis="《中华人民共和国市场主体登记管理条例》(国务院令第746号)第十九条；五证合一：《关于加快推进“五证合一、一照一码”登记制度改革的通知》(国办发〔2016〕53号)",
        annual_volume=52000,
        sources=["《中华人民共和国市场主体登记管理条例》(国务院令第746号，2022年3月1日施行)：当场登记，不能当场的3个工作日内登记，情形复杂的可再延长3个工作日(检索到条文内容)",
                 "国办发〔2016〕53号：社会保险登记证不再另行发放，企业社会保险登记随设立登记完成(检索到)"],
        unverified="第十九条的条号取自评审意见(issue 10)：检索到的文本转述了该条内容但未标条号",
        before=[
            user("NameCheck", "企业名称预先核准", SCJG, 1, onsite=True,
                 needs="name_approval_application id_card", issues="name_approval_notice",
                 returns=CHECK_PAPERS),
            accept(SCJG, "company_registration_application articles_of_association id_card "
                         "name_approval_notice premises_certificate legal_rep_appointment "
                         "shareholder_qualification agent_authorization", days=0,
                   name="设立登记窗口受理"),
            review(SCJG, 1),
            decide(SCJG, 1, name="核准登记"),
            service("SIRegister", "五证合一：登记信息推送社保经办机构", RSJ),
            collect(SCJG, "business_license", days=0, name="窗口领取营业执照"),
        ],
        after=[
            fetch(SCJG, "id_card", name="股东、法定代表人实名认证(人脸识别)"),
            user("Apply", "名称自主申报与设立登记网上受理、审核登记(审批合一)", SCJG, 1,
                 needs="company_registration_application articles_of_association "
                       "legal_rep_appointment shareholder_qualification premises_certificate",
                 issues="business_license", returns=CHECK_PAPERS),
            service("SIRegister", "五证合一：同步完成单位社会保险登记", RSJ),
            deliver(SCJG, name="发放电子营业执照并免费邮寄纸质执照"),
        ],
        removed={
            "NameCheck": "全程网办：名称自主申报，与设立登记一并网上提交，不再单独核准",
            "Accept": "全程网办：一网通办平台提交，全体股东电子签名",
            "Collect": "电子证照：电子营业执照即时签发，纸质执照免费邮寄",
            "name_approval_application": "取消：名称预先核准改为名称自主申报",
            "name_approval_notice": "取消：名称预先核准改为名称自主申报",
            "id_card": "数据共享：实名认证(人脸识别)核验公安身份信息",
            "agent_authorization": "全程网办：股东本人电子签名，无需委托代理",
        }),
    matter(
        "GZKZBA", "公章刻制备案", GAJ, "10", promised=1,
        time_note=NO_LIMIT + "公章刻制审批已取消(国发〔2017〕7号)，改为刻章企业向公安机关备案，无法律设定的办结时限；刻制1个工作日为本市承诺",
        service_object=["企业法人", "非法人企业"],
        legal_basis="《国务院关于第三批取消中央指定地方实施行政许可事项的决定》(国发〔2017〕7号)：取消公章刻制审批，改为刻章企业备案",
        annual_volume=25000,
        unverified="国发〔2017〕7号 的文号与内容取自评审意见(issue 10)，本次检索未找到原文",
        before=[
            user("Order", "到刻章企业提交刻章申请", KZQY, 0, onsite=True,
                 needs="business_license id_card agent_authorization", returns=CHECK_PAPERS),
            service("Filing", "刻章企业向公安机关报送备案信息", GAJ),
            user("Make", "印章刻制", KZQY, 1),
            collect(KZQY, "official_seal", days=0, name="到刻章企业领取印章"),
        ],
        after=[
            user("Order", "网上选择刻章企业、上传执照和经办人身份证件并确认印模", KZQY, 0,
                 needs="business_license id_card", returns=CHECK_PAPERS),
            user("Make", "印章刻制", KZQY, 1),
            service("Filing", "刻章信息推送公安机关备案", GAJ),
            deliver(KZQY, "official_seal", name="印章免费寄递"),
        ],
        removed={
            "Order": "全程网办：企业开办平台选择刻章企业、确认印模",
            "Collect": "邮寄：印章免费寄递",
            "agent_authorization": "全程网办：经办人实名登录办理，无需委托书",
        }),
    matter(
        "FPSL", "发票申领", SWJ, "20", statutory=5,
        statutory_basis="《中华人民共和国发票管理办法》(2019年修订)第十五条：主管税务机关在5个工作日内确认领用发票的种类、数量以及领用方式",
        promised=1, service_object=["企业法人", "非法人企业"],
        legal_basis="《中华人民共和国发票管理办法》第十五条",
        annual_volume=20000,
        unverified="第十五条“5个工作日”为对2019年修订文本的记忆，本次检索未找到原文",
        before=[
            accept(SWJ, "business_license id_card taxpayer_info_form premises_certificate "
                        "bank_account_license", name="新办纳税人信息确认(窗口受理)"),
            user("InvoiceType", "发票票种核定", SWJ, 2, onsite=True,
                 needs="invoice_application agent_authorization", returns=CHECK_PAPERS),
            user("TaxDevice", "税控设备发行", SWJ, 1),
            collect(SWJ, "invoice", name="窗口领取发票"),
        ],
        after=[
            fetch(SWJ, "business_license premises_certificate", name="共享登记及住所信息"),
            user("Apply", "电子税务局新办纳税人套餐受理、票种核定并发行税务UKey", SWJ, 1,
                 needs="taxpayer_info_form invoice_application bank_account_license id_card",
                 issues="tax_ukey", returns=CHECK_PAPERS),
            deliver(SWJ, "invoice", name="税务UKey与首批发票免费邮寄"),
        ],
        removed={
            "Accept": "全程网办：电子税务局新办纳税人套餐",
            "InvoiceType": "全程网办：票种核定随新办套餐网上办理",
            "Collect": "邮寄：税务UKey与发票免费邮寄",
            "business_license": "电子证照：共享营业执照登记信息",
            "premises_certificate": "数据共享：沿用设立登记的住所信息",
            "agent_authorization": "全程网办：办税人员实名办理，无需委托书",
        }),
    matter(
        "QYSBDJ", "单位参保信息确认及职工参保登记", RSJ, "07", promised=0,
        time_note=NO_LIMIT + "五证合一后单位社会保险登记随设立登记完成、不再核发社会保险登记证，《社会保险法》第五十七条的十五日审核不再单独适用；职工参保登记即办为本市承诺",
        service_object=["企业法人", "非法人企业", "事业单位法人", "社会组织法人"],
        legal_basis="《中华人民共和国社会保险法》第五十七条、第五十八条；《关于加快推进“五证合一、一照一码”登记制度改革的通知》(国办发〔2016〕53号)",
        annual_volume=18000,
        sources=["《中华人民共和国社会保险法》第五十七条(三十日内申请、十五日内审核发证)、第五十八条(用工之日起三十日内为职工登记)(检索到条文)",
                 "国办发〔2016〕53号：2016年10月1日起社会保险登记证和统计登记证不再另行发放(检索到)"],
        before=[
            accept(RSJ, "business_license id_card employee_list bank_account_license "
                        "agent_authorization", days=0, name="社保窗口确认单位参保信息并登记职工"),
            user("Review", "审核并建立单位缴费账户", RSJ, 1),
        ],
        after=[
            fetch(RSJ, "business_license", name="共享设立登记信息(五证合一)"),
            apply_online(RSJ, "employee_list bank_account_license id_card",
                         name="网上登记职工并建立缴费账户(即时生效)"),
        ],
        removed={
            "Accept": "全程网办：单位网厅办理",
            "business_license": "数据共享：五证合一，登记信息由市场监管推送",
            "agent_authorization": "全程网办：单位数字证书登录办理，无需委托书",
        }),
    matter(
        "GJJDWDJ", "住房公积金单位缴存登记", GJJ, "20", promised=0,
        time_note=NO_LIMIT + "《住房公积金管理条例》第十四条只规定新设单位30日内办理缴存登记，未规定管理中心的办结时限；即办为本市承诺",
        service_object=["企业法人", "非法人企业", "事业单位法人", "社会组织法人"],
        legal_basis="《住房公积金管理条例》第十三条、第十四条",
        annual_volume=10000,
        unverified="第十四条条文内容据记忆(检索到第十三条、第十五条原文)",
        before=[
            accept(GJJ, "business_license id_card hpf_registration_form agent_authorization "
                        "bank_account_license", days=0, name="缴存登记窗口受理"),
            review(GJJ, 1, name="登记审核"),
        ],
        after=[
            apply_online(GJJ, "hpf_registration_form bank_account_license id_card",
                         name="缴存登记网上办理"),
            fetch(GJJ, "business_license", name="共享企业登记信息"),
            deliver(GJJ, name="推送电子缴存登记回执"),
        ],
        removed={
            "Accept": "全程网办：公积金单位网厅办理",
            "business_license": "电子证照：共享电子营业执照",
            "agent_authorization": "全程网办：单位数字证书登录办理，无需委托书",
        }),
    # ------------------------------------------------------------- 市场监管 others
    matter(
        "SPJYXK", "食品经营许可", SCJG, "01", statutory=20,
        statutory_basis="《中华人民共和国行政许可法》第四十二条：20个工作日内作出行政许可决定(《食品安全法》第三十五条依行政许可法审查)",
        promised=10, service_object=["企业法人", "非法人企业", "自然人"],
        legal_basis="《中华人民共和国食品安全法》第三十五条；《中华人民共和国行政许可法》第四十二条",
        annual_volume=8000,
        unverified="《行政许可法》第四十二条与《食品安全法》第三十五条的条文本次未检索核对",
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
            apply_online(SCJG, "food_license_application premises_layout equipment_list "
                               "food_safety_rules food_safety_staff_certificate business_license "
                               "id_card", days=1, name="网上受理即审查"),
            decide(SCJG, 9, name="现场核查与许可决定(审核合一)", issues="food_license"),
            deliver(SCJG, name="发放电子许可证并邮寄纸质证书"),
        ],
        removed={
            "Accept": "全程网办：网上申请、受理即审查",
            "Collect": "电子证照：电子食品经营许可证，纸质证书邮寄",
            "health_certificate": "告知承诺：从业人员健康证明以承诺代替，事后核查",
        }),
    matter(
        "GTGSHDJ", "个体工商户登记", SCJG, "01", statutory=3,
        statutory_basis="《中华人民共和国市场主体登记管理条例》第十九条：当场登记或3个工作日内登记",
        promised=0, service_object=["自然人"],
        legal_basis="《中华人民共和国市场主体登记管理条例》第十九条；《促进个体工商户发展条例》",
        annual_volume=60000, props="zeebe",
        sources=["《中华人民共和国市场主体登记管理条例》：当场登记或3个工作日内登记(检索到条文内容)"],
        unverified="第十九条的条号取自评审意见(issue 10)；《促进个体工商户发展条例》未核对",
        before=[
            accept(SCJG, "individual_business_application id_card premises_certificate "
                         "id_photo agent_authorization"),
            review(SCJG, 1),
            collect(SCJG, "business_license", days=0, name="窗口领取营业执照"),
        ],
        after=[
            user("Apply", "网上申请并当场核准登记(受理即审批)", SCJG, 0,
                 needs="individual_business_application premises_certificate id_card",
                 issues="business_license", returns=CHECK_PAPERS),
            deliver(SCJG, name="签发电子营业执照并邮寄纸质执照"),
        ],
        removed={
            "Accept": "全程网办：网上申请当场登记",
            "Collect": "电子证照：电子营业执照，纸质执照邮寄",
            "id_photo": "取消：登记不再收取照片",
            "agent_authorization": "全程网办：经营者本人实名办理，无需委托书",
        }),
    # ------------------------------------------------------------------ 不动产
    matter(
        "BDCZYDJ", "不动产转移登记", BDC, "07", statutory=30,
        statutory_basis="《不动产登记暂行条例》第二十条：自受理登记申请之日起30个工作日内办结",
        promised=5, service_object=["自然人", "企业法人"],
        legal_basis="《不动产登记暂行条例》第十四条、第二十条",
        annual_volume=60000,
        unverified="《不动产登记暂行条例》第二十条(30个工作日)与第十四条(共同申请)的条号据记忆，本次检索未找到原文",
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
            user("Accept", "交易、税务、登记一窗受理(买卖双方面签)", WIN, 0, onsite=True,
                 needs="house_sale_contract property_registration_application id_card "
                       "property_certificate household_register marriage_certificate",
                 returns=CHECK_PAPERS,
                 why="买卖双方须共同申请(条例第十四条)，到场核验身份并当面签署申请(面签)"),
            par("Parallel",
                [user("Tax", "税费核定征收", SWJ, 1)],
                [service("FilingCheck", "网签备案信息核验", ZJJ)]),
            decide(BDC, 4, name="审核登簿(审核合一)", key="Register"),
            deliver(BDC, "property_certificate", name="发放电子不动产权证书并邮寄"),
        ],
        removed={
            "Filing": "一窗受理：网签备案与登记在一窗受理",
            "TaxAccept": "一窗受理：契税申报并入一窗受理",
            "Collect": "电子证照：电子不动产权证书，纸质证书邮寄",
            "tax_declaration_form": "表单合并：一窗受理一表申请",
            "tax_payment_certificate": "数据共享：税务完税信息推送登记机构",
        }),
    matter(
        "BDCDYDJ", "不动产抵押登记", BDC, "07", statutory=30,
        statutory_basis="《不动产登记暂行条例》第二十条：30个工作日内办结",
        promised=3, service_object=["自然人", "企业法人"],
        legal_basis="《中华人民共和国民法典》第四百零二条；《不动产登记暂行条例》第二十条",
        annual_volume=50000,
        unverified="《民法典》第四百零二条与《不动产登记暂行条例》第二十条的条文本次未检索核对",
        before=[
            accept(BDC, "property_registration_application id_card property_certificate "
                        "mortgage_contract loan_contract mortgagee_qualification "
                        "agent_authorization"),
            review(BDC, 4, name="登记审核"),
            decide(BDC, 1, name="登簿", key="Register"),
            collect(BDC, "mortgage_certificate", name="窗口领取不动产登记证明"),
        ],
        after=[
            user("Accept", "银行网点面签并提交抵押登记申请(登记+金融)", BDC, 0, onsite=True,
                 needs="property_registration_application id_card mortgage_contract loan_contract",
                 returns=CHECK_PAPERS,
                 why="抵押人须在银行网点当面签署借款及抵押合同并核验身份(面签)；登记申请随之由银行网点提交"),
            fetch(BDC, "property_certificate mortgagee_qualification",
                  name="共享产权及金融机构信息"),
            decide(BDC, 3, name="审核登簿(审核合一)", key="Register"),
            deliver(BDC, "mortgage_certificate", name="推送电子不动产登记证明"),
        ],
        removed={
            "Collect": "电子证照：电子不动产登记证明推送抵押权人",
            "property_certificate": "数据共享：登记簿产权信息",
            "mortgagee_qualification": "数据共享：金融机构信息预先备案",
            "agent_authorization": "一窗受理：银行网点受理延伸，无需另行委托",
        }),
    # ------------------------------------------------------- 公积金、社保、医保
    matter(
        "ZFGJJTQ", "住房公积金提取", GJJ, "20", statutory=3,
        statutory_basis="《住房公积金管理条例》第二十五条：自受理申请之日起3日内作出准予提取或者不准提取的决定",
        promised=1, service_object=["自然人"],
        legal_basis="《住房公积金管理条例》第二十四条、第二十五条",
        annual_volume=300000,
        sources=["《住房公积金管理条例》第二十五条(检索到条文)"],
        before=[
            accept(GJJ, "hpf_withdrawal_application id_card bank_card withdrawal_proof "
                        "marriage_certificate", days=0),
            review(GJJ, 1, name="提取审核"),
            decide(GJJ, 1, name="提取审批"),
        ],
        after=[
            fetch(GJJ, "bank_card", name="共享缴存人预留银行账户"),
            user("Apply", "网上提取申请并审核审批", GJJ, 1,
                 needs="hpf_withdrawal_application withdrawal_proof id_card marriage_certificate",
                 returns=CHECK_PAPERS),
            deliver(GJJ, name="资金划转到账"),
        ],
        removed={
            "Accept": "全程网办：网厅或手机公积金提取",
            "bank_card": "数据共享：缴存人预留银行账户",
        }),
    matter(
        "SBGXZY", "社会保险关系转移", RSJ, "20", statutory=45,
        statutory_basis="《城镇企业职工基本养老保险关系转移接续暂行办法》(国办发〔2009〕66号转发)第八条：转入地、转出地各15个工作日，合计45个工作日",
        promised=30, service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第十九条；《城镇企业职工基本养老保险关系转移接续暂行办法》(国办发〔2009〕66号)第八条",
        annual_volume=30000,
        unverified="国办发〔2009〕66号 的文号和第八条的时限据记忆，《社会保险法》第十九条未检索核对",
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
            fetch(RSJ, "insurance_payment_certificate household_register",
                  name="全国转移接续平台获取参保缴费与户籍信息"),
            apply_online(RSJ, "insurance_transfer_application labor_contract id_card", days=10,
                         name="网上申请，转入地审核并发出联系函", key="Letter"),
            user("TransferOut", "转出地核对并转出基金", RSJ, 10),
            user("Receive", "转入地核对接续", RSJ, 10),
            deliver(RSJ, name="推送转移接续结果"),
        ],
        removed={
            "IssueCert": "数据共享：参保缴费凭证由转移接续平台在线获取",
            "Accept": "全程网办：国家社会保险公共服务平台申请",
            "Notify": "全程网办：结果网上推送",
            "insurance_payment_certificate": "数据共享：全国转移接续平台",
            "household_register": "数据共享：公安户籍信息",
        }),
    matter(
        "YBYDJYBA", "医保异地就医备案", YBJ, "20", promised=0,
        time_note=NO_LIMIT + "法律未设定时限；国家医保局要求备案即时办理(医保发〔2022〕22号)，即办",
        service_object=["自然人"],
        legal_basis="《国家医保局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》(医保发〔2022〕22号)",
        annual_volume=40000,
        unverified="医保发〔2022〕22号 的即时办理要求据记忆，本次检索未找到原文",
        before=[
            accept(YBJ, "medical_filing_form id_card social_security_card residence_proof "
                        "referral_certificate work_proof"),
            review(YBJ, 3, name="备案审核"),
            decide(YBJ, 1, name="备案确认"),
        ],
        after=[
            apply_online(YBJ, "medical_filing_form residence_proof id_card",
                         name="国家医保服务平台网上备案"),
            fetch(YBJ, "social_security_card referral_certificate", name="共享参保与转诊信息"),
            deliver(YBJ, name="备案即时生效并推送"),
        ],
        removed={
            "Accept": "全程网办：国家医保服务平台备案",
            "social_security_card": "数据共享：参保信息",
            "referral_certificate": "数据共享：转出医院上传转诊信息",
            "work_proof": "告知承诺：异地工作以个人承诺代替证明",
        }),
    # ------------------------------------------------------------ 出生 members
    matter(
        "CSYXZM", "出生医学证明", ZCJG, "20", promised=1,
        time_note=NO_LIMIT + "《母婴保健法》第二十三条规定由助产机构出具，未设时限；出院前签发为本市承诺(1个工作日)",
        service_object=["自然人"],
        legal_basis="《中华人民共和国母婴保健法》第二十三条：医疗保健机构和从事家庭接生的人员出具统一制发的新生儿出生医学证明",
        annual_volume=35000,
        sources=["《中华人民共和国母婴保健法》第二十三条(检索到条文)"],
        before=[
            user("Register", "住院期间登记签发信息", ZCJG, 1,
                 needs="birth_certificate_application id_card", returns=CHECK_PAPERS),
            user("Verify", "核对分娩记录", ZCJG, 2),
            decide(ZCJG, 1, name="审核签发", key="Sign"),
            collect(ZCJG, "birth_medical_certificate", name="出院后到医院出生证办公室领取"),
        ],
        after=[
            user("Register", "住院期间床旁登记签发信息", ZCJG, 0,
                 needs="birth_certificate_application id_card", returns=CHECK_PAPERS),
            decide(ZCJG, 1, name="核对分娩记录并签发", key="Sign", issues="birth_medical_certificate"),
            user("Collect", "父母核对信息并签领出生医学证明", ZCJG, 0, onsite=True,
                 why="出生医学证明须父母本人核对信息并签名领取，签发机构不邮寄(出院时在院内办理)"),
        ],
        removed={}),
    matter(
        "XSELH", "新生儿落户", GAJ, "07", promised=0,
        time_note=NO_LIMIT + "《户口登记条例》第七条只规定出生后一个月内申报，未规定户籍机关时限；材料齐全当场办结(即办)为本市承诺",
        service_object=["自然人"],
        legal_basis="《中华人民共和国户口登记条例》第七条",
        annual_volume=33000,
        sources=["《中华人民共和国户口登记条例》第七条：婴儿出生后一个月以内申报出生登记(检索到条文)"],
        before=[
            accept(GAJ, "household_application birth_medical_certificate household_register "
                        "id_card marriage_certificate", days=0, name="派出所户籍窗口受理"),
            review(GAJ, 0, name="户籍民警审核"),
            decide(GAJ, 0, name="审批并打印户口页", issues="household_register"),
        ],
        after=[
            apply_online(GAJ, "household_application id_card", name="网上申报出生登记(预审)"),
            fetch(GAJ, "birth_medical_certificate marriage_certificate",
                  name="共享电子出生医学证明与婚姻信息"),
            user("Collect", "携户口簿原件到派出所，当场审批并打印户口页", GAJ, 0, onsite=True,
                 needs="household_register", issues="household_register",
                 why="新生儿户口页须打印在户口簿原件上并核验原件"),
        ],
        removed={
            "birth_medical_certificate": "数据共享：卫健电子出生医学证明信息",
            "marriage_certificate": "数据共享：民政婚姻登记信息",
        }),
    matter(
        "YBCBDJ", "医保参保登记", YBJ, "20", promised=0,
        time_note=NO_LIMIT + "《社会保险法》第二十五条未设办理时限；即办为本市承诺",
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第二十五条(城乡居民基本医疗保险)",
        annual_volume=34000,
        sources=["《中华人民共和国社会保险法》第二十五条：国家建立和完善城镇居民基本医疗保险制度(检索到条文)"],
        before=[
            accept(YBJ, "medical_insurance_form household_register birth_medical_certificate "
                        "id_card", name="医保窗口受理"),
            review(YBJ, 2, name="参保资格审核"),
            decide(YBJ, 1, name="参保登记", key="Register"),
            user("Pay", "缴费信息确认", YBJ, 0),
        ],
        after=[
            fetch(YBJ, "household_register birth_medical_certificate", name="共享户籍与出生信息"),
            apply_online(YBJ, "medical_insurance_form id_card", name="网上参保登记(即时生效)"),
            deliver(YBJ, name="推送缴费通知"),
        ],
        removed={
            "Accept": "全程网办：网上参保登记",
            "household_register": "数据共享：公安户籍信息",
            "birth_medical_certificate": "数据共享：卫健出生医学证明信息",
        }),
    matter(
        "SBKSL", "社会保障卡申领", RSJ, "20", promised=10,
        time_note=NO_LIMIT + "法律未设定制卡时限；10个工作日为本市承诺(含制卡周期)",
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第五十八条第三款(全国统一的个人社会保障号码，社会保障卡为其载体)",
        annual_volume=100000,
        sources=["《中华人民共和国社会保险法》第五十八条第三款：国家建立全国统一的个人社会保障号码(检索到条文)"],
        unverified="社会保障卡本身的管理规定(人社部《社会保障卡管理办法》)未核对",
        before=[
            accept(RSJ, "social_security_card_form id_photo household_register id_card",
                   name="社保卡窗口受理"),
            review(RSJ, 2, name="申领信息审核"),
            user("Make", "制卡", RSJ, 12),
            collect(YHWD, "social_security_card", name="合作银行网点领卡"),
        ],
        after=[
            apply_online(RSJ, "social_security_card_form id_card", name="网上申领社保卡"),
            fetch(RSJ, "id_photo household_register", name="共享公安照片与户籍信息"),
            backoffice("Make", "审核通过后批量制卡", RSJ, 10),
            user("Activate", "合作银行网点领卡并核验身份激活", YHWD, 0, onsite=True,
                 issues="social_security_card",
                 why="首次申领的社保卡具金融功能，须本人到银行网点核验身份、激活账户(银行账户实名制)"),
        ],
        removed={
            "Accept": "全程网办：网上申领",
            "id_photo": "数据共享：公安制证照片",
            "household_register": "数据共享：公安户籍信息",
        }),
    # ------------------------------------------------------------- 退休 members
    matter(
        "ZGTXSP", "职工退休审批", RSJ, "07", promised=6,
        time_note=NO_LIMIT + "法律未设定审批时限；6个工作日为本市承诺",
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第十六条；《国务院关于工人退休、退职的暂行办法》(国发〔1978〕104号)第一条",
        annual_volume=25000,
        sources=["《中华人民共和国社会保险法》第十六条：达到法定退休年龄时累计缴费满十五年的，按月领取基本养老金(检索到条文)"],
        unverified="国发〔1978〕104号 第一条条号据记忆",
        before=[
            accept(RSJ, "retirement_application id_card personnel_file household_register "
                        "id_photo labor_contract", days=2, name="退休申报窗口受理"),
            review(RSJ, 8, name="档案审核(出生时间、工龄认定)"),
            decide(RSJ, 3, name="退休审批"),
            collect(RSJ, "retirement_approval", days=2, name="领取退休审批表"),
        ],
        after=[
            accept(RSJ, "retirement_application personnel_file id_card", days=1,
                   name="单位经办人报送纸质人事档案并受理",
                   why="出生时间和工龄以纸质人事档案认定，档案须由单位经办人当面移交(2020–23年多数城市仍如此)"),
            fetch(RSJ, "household_register labor_contract id_photo", name="共享户籍、就业与照片信息"),
            decide(RSJ, 5, name="档案审核与退休审批(审批合一)", issues="retirement_approval"),
            deliver(RSJ, name="推送电子退休证"),
        ],
        removed={
            "Collect": "电子证照：电子退休证推送",
            "household_register": "数据共享：公安户籍信息",
            "labor_contract": "数据共享：劳动用工备案与参保记录",
            "id_photo": "数据共享：公安制证照片",
        }),
    matter(
        "YLJLQ", "基本养老金申领", RSJ, "05", promised=3,
        time_note=NO_LIMIT + "《社会保险法》第十六条未设核定时限；3个工作日为本市承诺",
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第十六条",
        annual_volume=25000,
        sources=["《中华人民共和国社会保险法》第十六条(检索到条文)"],
        before=[
            accept(RSJ, "pension_application id_card retirement_approval bank_card id_photo",
                   name="待遇申领窗口受理"),
            user("Calculate", "养老金待遇核定", RSJ, 7),
            decide(RSJ, 2, name="待遇复核"),
            manual("Notify", "领取待遇核定表", RSJ, 0, onsite=True),
        ],
        after=[
            fetch(RSJ, "retirement_approval id_photo", name="共享退休审批与照片信息"),
            apply_online(RSJ, "pension_application bank_card id_card", days=3,
                         name="网上申领并核定待遇", key="Calculate"),
            deliver(RSJ, name="推送待遇核定结果并按月发放"),
        ],
        removed={
            "Accept": "全程网办：网上申领",
            "Notify": "全程网办：核定结果网上推送",
            "retirement_approval": "电子证照：电子退休审批信息",
            "id_photo": "数据共享：公安制证照片",
        }),
    matter(
        "YBTXDY", "退休人员医保待遇核定", YBJ, "07", promised=3,
        time_note=NO_LIMIT + "《社会保险法》第二十七条未设核定时限；3个工作日为本市承诺",
        service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第二十七条",
        annual_volume=24000,
        sources=["《中华人民共和国社会保险法》第二十七条(检索到条文)"],
        before=[
            accept(YBJ, "retiree_medical_application id_card retirement_approval "
                        "insurance_payment_certificate", name="医保窗口受理"),
            review(YBJ, 7, name="缴费年限核定"),
            decide(YBJ, 2, name="待遇审批"),
        ],
        after=[
            fetch(YBJ, "retirement_approval insurance_payment_certificate",
                  name="共享退休审批与缴费记录"),
            apply_online(YBJ, "retiree_medical_application id_card", days=3,
                         name="网上申请并核定缴费年限", key="Verify"),
            deliver(YBJ, name="退休医保待遇生效并推送"),
        ],
        removed={
            "Accept": "全程网办：网上申请",
            "retirement_approval": "电子证照：电子退休审批信息",
            "insurance_payment_certificate": "数据共享：医保缴费记录",
        }),
    # ----------------------------------------------------------------- 其他事项
    matter(
        "JZZBL", "居住证办理", GAJ, "07", statutory=15,
        statutory_basis="《居住证暂行条例》第九条：自受理之日起15日内制作发放居住证(偏远地区可延长，最长不超过30日)",
        promised=10, service_object=["自然人"],
        legal_basis="《居住证暂行条例》(国务院令第663号)第九条",
        annual_volume=120000, props="zeebe",
        sources=["《居住证暂行条例》第九条(检索到条文)"],
        before=[
            accept(GAJ, "residence_permit_form id_card id_photo residence_proof employment_proof",
                   name="派出所窗口受理"),
            user("Verify", "居住信息实地核查", GAJ, 7),
            decide(GAJ, 2, name="审核审批"),
            user("Make", "制作居住证", GAJ, 4),
            collect(GAJ, "residence_permit", name="窗口领取居住证"),
        ],
        after=[
            accept(GAJ, "residence_permit_form id_card residence_proof", days=0,
                   name="派出所或社区受理并采集人像、指纹",
                   why="首次申领居住证须本人到场采集人像、指纹并核验身份"),
            fetch(GAJ, "employment_proof", name="共享参保就业信息"),
            decide(GAJ, 7, name="核查审批(审核合一)"),
            backoffice("Make", "制作居住证", GAJ, 3),
            deliver(GAJ, "residence_permit", name="居住证邮寄送达"),
        ],
        removed={
            "Collect": "邮寄：居住证邮寄送达",
            "id_photo": "取消：受理时现场采集人像，不再提交照片",
            "employment_proof": "数据共享：社保参保与就业登记信息",
        }),
    matter(
        "CJRZSL", "残疾人证申领", CLH, "20", promised=10,
        time_note=NO_LIMIT + "法律未设定发证时限；10个工作日(评定7、审批3)为本市承诺",
        service_object=["自然人"],
        legal_basis="《中华人民共和国残疾人保障法》第二条；《中华人民共和国残疾人证管理办法》(中国残联，2017年修订)",
        annual_volume=6000, props="spiffworkflow",
        unverified="《残疾人证管理办法》的文号与条文未核实",
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
            apply_online(CLH, "disability_card_application id_card id_photo household_register",
                         name="网上或社区代办申请"),
            user("Assess", "指定医疗机构残疾评定", WJW, 7, onsite=True,
                 needs="medical_records", issues="disability_assessment",
                 why="残疾评定须本人到指定医疗机构接受面诊检查，无法代替"),
            decide(CLH, 3, name="审核审批(审批合一)", issues="disability_card",
                   uses="disability_assessment"),
            deliver(CLH, name="邮寄残疾人证(行动不便者上门送达)"),
        ],
        removed={
            "Accept": "全程网办：网上申请或社区代办",
            "Review": "数据共享：评定结果由医疗机构直接推送残联",
            "Collect": "邮寄：残疾人证邮寄或上门送达",
            "disability_assessment": "数据共享：评定结果由医疗机构直接推送残联",
        }),
    matter(
        "JSGCSGXK", "建设工程施工许可", ZJJ, "01", statutory=7,
        statutory_basis="《中华人民共和国建筑法》第八条：自收到申请之日起七日内颁发施工许可证",
        promised=3, service_object=["企业法人", "事业单位法人"],
        legal_basis="《中华人民共和国建筑法》第七条、第八条；《建筑工程施工许可管理办法》",
        annual_volume=800,
        sources=["《中华人民共和国建筑法》第八条(2019年修正)：自收到申请之日起七日内颁发施工许可证(检索到条文)"],
        unverified="《建筑工程施工许可管理办法》未核对",
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
            par("Share",
                [fetch(ZJJ, "land_use_certificate planning_permit",
                       name="共享用地与规划许可信息", key="FetchPlanning")],
                [fetch(ZJJ, "bid_award_notice", name="共享招投标信息", key="FetchBids")],
                [fetch(ZJJ, "drawing_review_certificate", name="共享联合审图结果",
                       key="FetchDrawings")]),
            user("Apply", "工程建设项目审批管理系统网上受理、审查并决定(审批合一)", ZJJ, 3,
                 needs="construction_permit_application construction_contract supervision_contract "
                       "quality_safety_plan funding_commitment site_condition_proof",
                 issues="construction_permit", returns=CHECK_PAPERS),
            deliver(ZJJ, name="发放电子施工许可证"),
        ],
        removed={
            "Accept": "全程网办：工程建设项目审批管理系统",
            "Collect": "电子证照：电子施工许可证",
            "land_use_certificate": "数据共享：工程建设项目审批管理系统",
            "planning_permit": "数据共享：工程建设项目审批管理系统",
            "bid_award_notice": "数据共享：招投标监管平台",
            "drawing_review_certificate": "数据共享：联合审图系统",
        }),
    matter(
        "DLYSJYXK", "道路运输经营许可", JTJ, "01", statutory=20,
        statutory_basis="《中华人民共和国行政许可法》第四十二条：20个工作日内作出行政许可决定",
        promised=10, service_object=["企业法人", "非法人企业", "自然人"],
        legal_basis="《中华人民共和国道路运输条例》第二十一条至第二十四条；《中华人民共和国行政许可法》第四十二条",
        annual_volume=1500, props="spiffworkflow",
        unverified="道路运输条例的条号据记忆；时限按行政许可法第四十二条一般规定",
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
            apply_online(JTJ, "road_transport_application safety_management_rules "
                              "parking_lot_proof vehicle_inspection_report id_card "
                              "business_license", days=1,
                         name="网上申请(受理即审查)"),
            par("Share",
                [fetch(JTJ, "vehicle_license", name="共享车辆行驶证信息", key="FetchVehicles")],
                [fetch(JTJ, "driver_license driver_qualification_certificate",
                       name="共享驾驶员从业资格信息", key="FetchDrivers")],
                [service("FetchLicense", "营业执照与身份信息核验", JTJ)]),
            decide(JTJ, 9, name="车辆场地核查与许可决定(审核合一)", issues="road_transport_permit"),
            deliver(JTJ, name="发放电子道路运输经营许可证"),
        ],
        removed={
            "Accept": "全程网办：网上申请",
            "Collect": "电子证照：电子道路运输经营许可证",
            "vehicle_license": "数据共享：公安交管车辆信息",
            "driver_license": "数据共享：公安交管驾驶证信息",
            "driver_qualification_certificate": "数据共享：从业资格信息",
        }),
    # ---------------------------------------------------------- 新增高频事项
    matter(
        "JHDJ", "结婚登记", MZJ, "07", statutory=0,
        statutory_basis="《婚姻登记条例》第七条：对当事人符合结婚条件的，应当当场予以登记，发给结婚证",
        promised=0, service_object=["自然人"],
        legal_basis="《婚姻登记条例》(国务院令第387号)第四条、第五条、第七条",
        annual_volume=30000,
        sources=["《婚姻登记条例》(国务院令第387号)第四条(双方共同到一方户口所在地登记机关)、第七条(当场登记)(检索到条文)"],
        unverified="第五条(应出具的证件)未核对",
        before=[
            user("Accept", "双方到场受理：交验证件、填写并当面签署声明书", MZJ, 0, onsite=True,
                 needs="id_card household_register couple_photo marriage_declaration",
                 returns=CHECK_PAPERS),
            user("Review", "审查并询问结婚意愿", MZJ, 0),
            decide(MZJ, 0, name="登记并颁发结婚证", key="Issue", issues="marriage_certificate"),
        ],
        after=[
            user("Accept", "网上预约后双方到场：核验身份、签署声明、审查并当场颁证", MZJ, 0,
                 onsite=True,
                 needs="id_card household_register marriage_declaration", returns=CHECK_PAPERS,
                 issues="marriage_certificate",
                 why="条例第四条要求男女双方共同到婚姻登记机关，须当面询问意愿并在登记员面前签署声明"),
        ],
        removed={
            "couple_photo": "取消：登记处现场免费拍摄合影，不再自带照片",
        }),
    matter(
        "SFZHL", "居民身份证换领、补领", GAJ, "07", statutory=60,
        statutory_basis="《中华人民共和国居民身份证法》第十二条：自公民提交申领登记表之日起六十日内发放(交通不便地区可延长，不超过三十日)；法律按日计，本表按工作日记",
        promised=25, service_object=["自然人"],
        legal_basis="《中华人民共和国居民身份证法》第十一条、第十二条",
        annual_volume=150000,
        sources=["《中华人民共和国居民身份证法》第十二条(检索到条文)"],
        unverified="第十一条条号未核对",
        before=[
            user("Capture", "户籍地派出所受理并采集人像、指纹", GAJ, 0, onsite=True,
                 needs="id_card_application household_register old_id_card", returns=CHECK_PAPERS),
            review(GAJ, 2, name="审核"),
            user("Make", "省级制证", GAJ, 40),
            collect(GAJ, "id_card", name="到派出所领取居民身份证"),
        ],
        after=[
            user("Capture", "就近派出所受理并采集人像、指纹(可异地办理)", GAJ, 0, onsite=True,
                 needs="id_card_application old_id_card", returns=CHECK_PAPERS,
                 why="居民身份证须本人到场采集人像并登记指纹信息，不能代办"),
            fetch(GAJ, "household_register", name="共享人口信息系统户籍信息"),
            backoffice("Make", "审核后省级制证", GAJ, 25),
            deliver(GAJ, "id_card", name="居民身份证邮寄送达"),
        ],
        removed={
            "Collect": "邮寄：居民身份证邮寄送达",
            "household_register": "数据共享：人口信息系统户籍信息(异地受理不需户口簿)",
        }),
    matter(
        "PTHZ", "普通护照签发", CRJ, "01", statutory=15,
        statutory_basis="《中华人民共和国护照法》第六条：自收到申请材料之日起十五日内签发普通护照(偏远地区或特殊情况可延长至三十日)",
        promised=7, service_object=["自然人"],
        legal_basis="《中华人民共和国护照法》第四条、第六条",
        annual_volume=40000,
        sources=["《中华人民共和国护照法》第四条(签发机关)、第六条(十五日内签发)(检索到条文)"],
        before=[
            user("Accept", "户籍地出入境窗口受理、拍照并采集指纹", CRJ, 0, onsite=True,
                 needs="passport_application id_card household_register id_photo",
                 returns=CHECK_PAPERS),
            review(CRJ, 2, name="审核"),
            user("Make", "制证", CRJ, 7),
            collect(CRJ, "passport", name="窗口领取护照"),
        ],
        after=[
            user("Accept", "就近出入境窗口受理并采集人像、指纹(全国通办)", CRJ, 0, onsite=True,
                 needs="passport_application id_card", returns=CHECK_PAPERS,
                 why="护照须本人申请，到场采集人像、指纹并核验身份"),
            backoffice("Make", "审核后制证", CRJ, 7),
            deliver(CRJ, "passport", name="护照邮寄送达"),
        ],
        removed={
            "Collect": "邮寄：护照邮寄送达",
            "household_register": "取消：全国通办后凭居民身份证申请，不再交验户口簿",
            "id_photo": "取消：窗口现场免费拍照",
        }),
    matter(
        "KSHKQY", "跨省户口迁移", GAJ, "07", promised=8,
        time_note=NO_LIMIT + "《户口登记条例》第十条未规定户籍机关办理时限；8个工作日(审批5、迁出2、落户1)为本市承诺",
        service_object=["自然人"],
        legal_basis="《中华人民共和国户口登记条例》第十条、第十三条",
        annual_volume=15000,
        sources=["《中华人民共和国户口登记条例》第十条(迁出登记、领取迁移证件)、第十三条(迁入登记)(检索到条文)"],
        unverified="跨省通办(国办发〔2020〕35号)文号据记忆，本次检索未找到原文",
        before=[
            accept(GAJ, "migration_application household_register id_card migration_reason_proof",
                   name="迁入地派出所受理"),
            decide(GAJ, 5, name="迁入地审批", issues="migration_permit"),
            manual("CollectPermit", "领取准予迁入证明", GAJ, 0, onsite=True),
            user("MoveOut", "持准迁证到迁出地(外省)派出所办理迁出", GAJ, 2, onsite=True,
                 needs="migration_permit household_register id_card",
                 issues="migration_certificate", returns=CHECK_PAPERS),
            user("Settle", "持迁移证到迁入地派出所落户", GAJ, 2, onsite=True,
                 needs="migration_certificate household_register"),
        ],
        after=[
            accept(GAJ, "migration_application household_register id_card migration_reason_proof",
                   days=0, name="迁入地派出所一站式受理(跨省通办)",
                   why="须交验户口簿原件和身份证原件，新户口页在迁入地打印"),
            decide(GAJ, 5, name="迁入地审批", issues="migration_permit"),
            backoffice("MoveOut", "迁出地网上办理迁出(电子迁移证)", GAJ, 2,
                       uses="migration_permit", issues="migration_certificate"),
            user("Settle", "迁入地落户并打印户口页", GAJ, 1, uses="migration_certificate"),
            deliver(GAJ, name="户口簿邮寄送达"),
        ],
        removed={
            "CollectPermit": "数据共享：准迁证电子信息在公安户籍系统内流转",
            "MoveOut": "数据共享：迁出地网上办理迁出，电子迁移证",
            "Settle": "邮寄：落户后户口簿邮寄送达",
            "migration_permit": "数据共享：电子准迁证",
            "migration_certificate": "数据共享：电子迁移证",
        }),
    matter(
        "WFZJL", "无犯罪记录证明", GAJ, "20", promised=1,
        time_note=NO_LIMIT + "无法律或国务院文件设定时限；公安部规定当场办理、不能当场的3个工作日内办结(部门规定，非法定时限)；1个工作日为本市承诺",
        service_object=["自然人"],
        legal_basis="none：无法律、行政法规设定；依公安部《公安机关办理犯罪记录查询工作规定》(2021年)办理",
        annual_volume=45000,
        sources=["公安机关办理犯罪记录查询：能当场办理的当场办理，不能当场的3个工作日内办结(多地办事指南，检索到)"],
        unverified="公安部规定的文号(公通字〔2021〕19号)未核实",
        before=[
            accept(GAJ, "no_crime_application id_card household_register purpose_proof",
                   name="户籍地派出所受理"),
            review(GAJ, 3, name="查询核实"),
            collect(GAJ, "no_crime_certificate", days=0, name="领取无犯罪记录证明"),
        ],
        after=[
            fetch(GAJ, "household_register", name="共享户籍信息"),
            accept(GAJ, "no_crime_application purpose_proof id_card", days=1,
                   name="户籍地或居住地派出所受理，查询后出具(能当场的当场出具)",
                   why="2020–22年多数地区须本人到派出所核验身份后申请(网上申请仅部分省份开通)；证明当场或3个工作日内出具、可邮寄"),
            deliver(GAJ, "no_crime_certificate", name="出具证明(当场领取或邮寄)"),
        ],
        removed={
            "Collect": "邮寄：不能当场出具的证明邮寄送达",
            "household_register": "数据共享：公安户籍信息",
        }),
    matter(
        "GSRD", "工伤认定", RSJ, "07", statutory=60,
        statutory_basis="《工伤保险条例》第二十条：自受理之日起60日内作出认定决定，事实清楚、权利义务明确的15日内作出；法律按日计，本表按工作日记",
        promised=30, service_object=["自然人", "企业法人"],
        legal_basis="《工伤保险条例》第十七条、第十八条、第二十条",
        annual_volume=12000,
        sources=["《工伤保险条例》第十七条、第二十条(检索到条文)"],
        unverified="第十八条(申请材料)未核对",
        before=[
            accept(RSJ, "injury_application labor_contract medical_diagnosis id_card "
                        "accident_statement", name="人社窗口受理"),
            user("Investigate", "调查核实", RSJ, 20),
            decide(RSJ, 10, name="作出工伤认定决定", issues="injury_decision"),
            manual("Collect", "领取认定工伤决定书", RSJ, 0, onsite=True),
        ],
        after=[
            accept(RSJ, "injury_application medical_diagnosis accident_statement id_card", days=0,
                   name="人社窗口受理并核验原件",
                   why="须交验病历、诊断证明原件并由受伤职工或近亲属说明事故经过(调查核实所需)"),
            fetch(RSJ, "labor_contract", name="共享劳动用工备案与参保信息"),
            user("Investigate", "调查核实", RSJ, 20),
            decide(RSJ, 10, name="作出工伤认定决定", issues="injury_decision"),
            deliver(RSJ, name="决定书邮寄送达"),
        ],
        removed={
            "Collect": "邮寄：决定书邮寄送达",
            "labor_contract": "数据共享：劳动用工备案与参保信息证明劳动关系",
        }),
    matter(
        "SYBXJ", "失业保险金申领", RSJ, "05", statutory=10,
        statutory_basis="《失业保险金申领发放办法》(劳动和社会保障部令第8号)：经办机构自受理之日起10日内对申领者资格审核认定；法律按日计，本表按工作日记",
        promised=3, service_object=["自然人"],
        legal_basis="《中华人民共和国社会保险法》第四十五条；《失业保险条例》第十四条；《失业保险金申领发放办法》(劳动和社会保障部令第8号)",
        annual_volume=20000,
        sources=["《失业保险条例》第十四条(检索到条文)", "经办机构10日内审核认定(多地办事指南转述《失业保险金申领发放办法》，检索到)"],
        unverified="《失业保险金申领发放办法》的令号与10日时限所在条号未核实",
        before=[
            accept(RSJ, "unemployment_application id_card termination_proof "
                        "unemployment_registration bank_card id_photo", name="经办机构窗口受理"),
            review(RSJ, 7, name="资格审核认定"),
            manual("Collect", "领取失业保险金领取凭证", RSJ, 0, onsite=True),
        ],
        after=[
            fetch(RSJ, "bank_card", name="共享社保卡金融账户"),
            apply_online(RSJ, "unemployment_application termination_proof id_card", days=3,
                         name="网上申领并审核认定"),
            deliver(RSJ, name="按月发放至社保卡"),
        ],
        removed={
            "Accept": "全程网办：网上申领",
            "Collect": "全程网办：按月发放至社保卡，无需领取凭证",
            "unemployment_registration": "表单合并：失业登记与失业保险金申领一表办理",
            "bank_card": "数据共享：社保卡金融账户",
            "id_photo": "取消：不再收取照片",
        }),
    matter(
        "GJJDK", "住房公积金个人住房贷款", GJJ, "20", statutory=15,
        statutory_basis="《住房公积金管理条例》第二十六条：自受理申请之日起15日内作出准予贷款或者不准贷款的决定；法律按日计，本表按工作日记",
        promised=7, service_object=["自然人"],
        legal_basis="《住房公积金管理条例》第二十六条",
        annual_volume=30000,
        sources=["《住房公积金管理条例》第二十六条(检索到条文)"],
        before=[
            accept(GJJ, "hpf_loan_application id_card marriage_certificate household_register "
                        "purchase_contract income_proof down_payment_receipt",
                   name="公积金中心窗口受理"),
            review(GJJ, 5, name="贷款审核"),
            decide(GJJ, 3, name="贷款审批"),
            user("Sign", "到受托银行面签借款合同", GJJ, 1, onsite=True, needs="id_card",
                 issues="hpf_loan_contract"),
            manual("Notify", "领取放款通知", GJJ, 0, onsite=True),
        ],
        after=[
            apply_online(GJJ, "hpf_loan_application purchase_contract down_payment_receipt id_card "
                              "marriage_certificate", name="网上申请贷款"),
            fetch(GJJ, "household_register income_proof", name="共享户籍及缴存信息"),
            decide(GJJ, 7, name="审核审批(审贷合一)"),
            user("Sign", "借款人到受托银行面签借款合同", GJJ, 0, onsite=True, needs="id_card",
                 issues="hpf_loan_contract",
                 why="借款合同须借款人本人当面签署并核验身份(贷款面签)"),
            deliver(GJJ, name="放款并短信通知"),
        ],
        removed={
            "Accept": "全程网办：网上申请",
            "Notify": "全程网办：放款结果短信通知",
            "household_register": "数据共享：公安户籍信息",
            "income_proof": "数据共享：以公积金缴存基数核定收入",
        }),
    matter(
        "QYJYZX", "企业简易注销登记", SCJG, "01", statutory=3,
        statutory_basis="《中华人民共和国市场主体登记管理条例》第十九条：3个工作日内登记；第三十三条规定的20日公示期为申请人公示时间，不计入",
        promised=1, service_object=["企业法人", "非法人企业"],
        legal_basis="《中华人民共和国市场主体登记管理条例》第十九条、第三十三条",
        annual_volume=15000,
        sources=["简易注销：全体投资人书面承诺，公示期20日(条例内容，检索到)"],
        unverified="第三十三条的条号据记忆(内容检索到)",
        before=[
            user("Notice", "网上提交承诺书并公示(公示期不计时限)", SCJG, 0,
                 needs="investor_commitment"),
            accept(SCJG, "deregistration_application investor_commitment business_license "
                         "id_card tax_clearance agent_authorization", name="公示期满后窗口申请注销"),
            review(SCJG, 1),
            decide(SCJG, 1, name="核准注销"),
            manual("Collect", "领取准予注销登记通知书", SCJG, 0, onsite=True),
        ],
        after=[
            user("Notice", "网上提交承诺书并公示20日(公示期不计时限)", SCJG, 0,
                 needs="investor_commitment"),
            fetch(SCJG, "tax_clearance", name="共享清税信息"),
            apply_online(SCJG, "deregistration_application business_license id_card", days=1,
                         name="企业注销网上服务专区申请并核准(上传证件，执照寄回)"),
            deliver(SCJG, name="推送准予注销登记通知书"),
        ],
        removed={
            "Accept": "全程网办：企业注销网上服务专区",
            "Collect": "电子证照：电子通知书推送",
            "tax_clearance": "数据共享：税务清税信息推送",
            "agent_authorization": "全程网办：投资人实名电子签名，无需委托书",
        }),
    matter(
        "SWZX", "税务注销(清税)", SWJ, "10", promised=0,
        time_note=NO_LIMIT + "法律未设定清税时限；符合条件的即时出具清税文书为税务机关的服务承诺(即办)",
        service_object=["企业法人", "非法人企业"],
        legal_basis="《中华人民共和国税收征收管理法》第十六条",
        annual_volume=15000,
        unverified="税收征收管理法第十六条条号据记忆；税务总局即办政策文号未核实",
        before=[
            accept(SWJ, "tax_deregistration_application business_license id_card invoice_stub "
                        "agent_authorization", name="办税服务厅受理注销申请"),
            user("Audit", "清税检查(发票缴销、税款结清)", SWJ, 10),
            decide(SWJ, 2, name="出具清税证明"),
            collect(SWJ, "tax_clearance", days=0, name="领取清税证明"),
        ],
        after=[
            fetch(SWJ, "business_license", name="共享登记信息"),
            accept(SWJ, "tax_deregistration_application invoice_stub id_card", days=0,
                   name="办税服务厅缴销发票、税控设备并即时清税",
                   why="已领用的纸质发票和税控设备须交回办税服务厅缴销(实物)"),
            deliver(SWJ, name="推送电子清税证明"),
        ],
        removed={
            "Collect": "电子证照：即时出具清税文书并推送",
            "business_license": "电子证照：电子营业执照",
            "agent_authorization": "全程网办：办税人员实名办理，无需委托书",
        }),
    matter(
        "SBZX", "单位社会保险注销登记", RSJ, "10", promised=1,
        time_note=NO_LIMIT + "《社会保险法》第五十七条只规定单位终止之日起三十日内办理注销，未规定经办机构时限；1个工作日为本市承诺",
        service_object=["企业法人", "非法人企业"],
        legal_basis="《中华人民共和国社会保险法》第五十七条",
        annual_volume=12000,
        sources=["《中华人民共和国社会保险法》第五十七条第二款：终止之日起三十日内办理注销社会保险登记(检索到条文)"],
        before=[
            accept(RSJ, "si_deregistration_form business_license id_card agent_authorization",
                   name="社保窗口受理注销"),
            review(RSJ, 3, name="核查欠费并注销"),
        ],
        after=[
            fetch(RSJ, "business_license", name="共享登记信息"),
            apply_online(RSJ, "si_deregistration_form id_card", days=1,
                         name="单位网厅申请，核查欠费并注销"),
            deliver(RSJ, name="推送注销结果"),
        ],
        removed={
            "Accept": "全程网办：单位网厅",
            "business_license": "电子证照：电子营业执照",
            "agent_authorization": "全程网办：单位数字证书登录办理",
        }),
    matter(
        "DBSH", "最低生活保障审核确认", MZJ, "05", promised=16,
        time_note=NO_LIMIT + "《社会救助暂行办法》未规定天数；民政部《最低生活保障审核确认办法》(民发〔2021〕57号)规定审核确认时限(部门规范性文件)；16个工作日为本市承诺",
        service_object=["自然人"],
        legal_basis="《社会救助暂行办法》(国务院令第649号)第九条至第十一条；《最低生活保障审核确认办法》(民发〔2021〕57号)",
        annual_volume=5000,
        sources=["民发〔2021〕57号：县级民政部门负责审核确认，乡镇(街道)负责受理、初审(检索到)"],
        unverified="民发〔2021〕57号中审核确认时限的天数与条号未核实；社会救助暂行办法条号据记忆",
        before=[
            accept(JDB, "dibao_application id_card household_register family_income_statement "
                        "economic_check_authorization id_photo", name="乡镇(街道)窗口受理"),
            user("Survey", "入户调查", JDB, 10),
            user("Check", "家庭经济状况信息核对", MZJ, 5),
            review(JDB, 7, name="初审并公示", fix_onsite=True),
            decide(MZJ, 5, name="县级民政审核确认", issues="dibao_certificate"),
            collect(JDB, "dibao_certificate", name="领取低保证"),
        ],
        after=[
            accept(JDB, "dibao_application id_card family_income_statement "
                        "economic_check_authorization", name="乡镇(街道)窗口或社工上门受理",
                   why="核对授权书须共同生活家庭成员本人签字；申请人多为老弱，多数由窗口或上门受理"),
            fetch(JDB, "household_register", name="共享户籍信息"),
            user("Survey", "入户调查", JDB, 7),
            backoffice("Check", "家庭经济状况信息核对(核对平台)", MZJ, 3),
            decide(MZJ, 5, name="审核确认并公示", issues="dibao_certificate"),
            deliver(MZJ, name="低保金发放至社保卡，决定书送达"),
        ],
        removed={
            "Collect": "邮寄：决定书送达，低保金直接发放",
            "household_register": "数据共享：公安户籍信息",
            "id_photo": "取消：不再收取照片",
        }),
)

# ======================================================================= bundles
BUNDLES = (
    bundle(
        "CSYJS", "出生一件事", WJW, "20",
        members=["CSYXZM", "XSELH", "YBCBDJ", "SBKSL"], promised=4,
        legal_basis="none：一件事是成员事项的联办安排，不设新的权力；各成员事项依据各自适用",
        annual_volume=30000,
        after=[
            user("Apply", "住院期间在医院出生一件事窗口联办申请", ZCJG, 0,
                 needs="birth_onething_form id_card household_register", returns=CHECK_PAPERS),
            fetch(ZCJG, "marriage_certificate", name="共享婚姻登记信息"),
            decide(ZCJG, 1, name="签发出生医学证明", key="Sign", issues="birth_medical_certificate"),
            service("Push", "出生医学证明信息推送(卫健出生医学证明系统)", WJW),
            par("Members",
                [decide(GAJ, 2, name="出生登记审批并打印户口页", key="Household")],
                [service("Insurance", "医保参保登记(自动)", YBJ)],
                [backoffice("Card", "社保卡制卡", RSJ, 3)]),
            user("Collect", "父母在医院一次领取出生医学证明、户口簿和社保卡", ZCJG, 0, onsite=True,
                 issues="household_register social_security_card",
                 why="出生医学证明须父母本人签领；户口簿原件与首张社保卡当面交付并核验监护人身份"),
        ],
        removed={
            "XSELH_Accept": "一窗受理：出生登记在医院联办窗口申请，户口簿随出生医学证明一并领取",
            "SBKSL_Collect": "一窗受理：社保卡在医院联办窗口一并领取，监护人当面核验",
            "birth_medical_certificate": "数据共享：签发后推送公安、医保",
            "medical_insurance_form": "表单合并：一件事联办申请表",
            "household_application": "表单合并：一件事联办申请表",
            "social_security_card_form": "表单合并：一件事联办申请表",
            "birth_certificate_application": "表单合并：一件事联办申请表",
        }),
    bundle(
        "QYKBYJS", "企业开办一件事", SCJG, "20",
        members=["QYSLDJ", "GZKZBA", "FPSL", "QYSBDJ", "GJJDWDJ"], promised=3,
        legal_basis="《国务院办公厅关于进一步压缩企业开办时间的意见》(国办发〔2018〕32号)",
        annual_volume=20000,
        unverified="国办发〔2018〕32号 的文号据记忆，本次检索未找到原文",
        after=[
            apply_online(WIN, "startup_application articles_of_association legal_rep_appointment "
                              "shareholder_qualification premises_certificate",
                         name="企业开办一网通办申报受理"),
            fetch(WIN, "id_card", name="实名认证(人脸识别)"),
            decide(SCJG, 1, name="设立登记审核", key="Register", issues="business_license"),
            par("Members",
                [user("Seal", "印章刻制", KZQY, 1, issues="official_seal"),
                 service("SealFiling", "刻章信息推送公安机关备案", GAJ)],
                [user("Invoice", "票种核定并发行税务UKey", SWJ, 1, issues="tax_ukey invoice")],
                [service("SocialInsurance", "社保单位登记(五证合一，自动)", RSJ,
                         needs="business_license")],
                [service("HousingFund", "公积金缴存登记(自动)", GJJ,
                         needs="business_license")]),
            backoffice("Deliver", "营业执照、印章、税务UKey统一免费寄递", WIN, 1),
        ],
        removed={
            "company_registration_application": "表单合并：企业开办一表通",
            "taxpayer_info_form": "表单合并：企业开办一表通",
            "invoice_application": "表单合并：企业开办一表通",
            "employee_list": "表单合并：企业开办一表通(职工参保随后网上办理)",
            "hpf_registration_form": "表单合并：企业开办一表通",
            "bank_account_license": "数据共享：银行开户信息推送",
        }),
    bundle(
        "TXYJS", "退休一件事", RSJ, "20",
        members=["ZGTXSP", "YLJLQ", "ZFGJJTQ", "YBTXDY"], promised=8,
        legal_basis="none：一件事是成员事项的联办安排，不设新的权力；各成员事项依据各自适用",
        annual_volume=22000,
        after=[
            accept(WIN, "retirement_onething_form personnel_file id_card", days=1,
                   name="单位经办人报送纸质档案并一次受理",
                   why="纸质人事档案须由单位经办人当面移交审核(2020–23年多数城市仍如此)"),
            fetch(WIN, "household_register labor_contract bank_card insurance_payment_certificate id_photo",
                  name="共享户籍、就业、缴费及账户信息"),
            decide(RSJ, 5, name="档案审核与退休审批", issues="retirement_approval"),
            par("Members",
                [user("Pension", "养老金待遇核定", RSJ, 2)],
                [service("Medical", "医保退休待遇核定(自动)", YBJ)],
                [service("HousingFund", "公积金退休提取(自动)", GJJ)]),
            deliver(WIN, name="推送电子退休证及待遇通知"),
        ],
        removed={
            "ZFGJJTQ_Accept": "数据共享：退休审批结果推送公积金中心，自动提取",
            "retirement_application": "表单合并：退休一件事联办申请表",
            "pension_application": "表单合并：退休一件事联办申请表",
            "hpf_withdrawal_application": "表单合并：退休一件事联办申请表",
            "retiree_medical_application": "表单合并：退休一件事联办申请表",
            "withdrawal_proof": "数据共享：以退休审批结果作为提取依据",
            "marriage_certificate": "数据共享：民政婚姻登记信息",
        }),
    bundle(
        "QYZXYJS", "企业注销一件事", SCJG, "20",
        members=["SWZX", "SBZX", "QYJYZX"], promised=1,
        legal_basis="《中华人民共和国市场主体登记管理条例》第三十三条(简易注销)",
        annual_volume=12000,
        after=[
            user("Notice", "网上提交承诺书并公示20日(公示期不计时限)", SCJG, 0,
                 needs="investor_commitment"),
            apply_online(WIN, "deregistration_application tax_deregistration_application "
                              "business_license id_card",
                         name="企业注销网上服务专区一次申请(上传证件，执照寄回)"),
            par("Members",
                [user("Tax", "办税服务厅缴销发票、税控设备并即时清税", SWJ, 0, onsite=True,
                      needs="invoice_stub", issues="tax_clearance",
                      why="已领用的纸质发票和税控设备须交回办税服务厅缴销(实物)")],
                [service("SocialInsurance", "社保注销(自动)", RSJ)]),
            decide(SCJG, 1, name="核准注销", uses="tax_clearance"),
            deliver(WIN, name="推送注销结果"),
        ],
        removed={
            "si_deregistration_form": "表单合并：企业注销一次申请",
        }),
)
