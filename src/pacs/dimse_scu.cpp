#include "pacs/dimse_scu.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/dstorscu.h>
#include <dcmtk/dcmnet/scu.h>
#include <dcmtk/oflog/oflog.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "pacs/study_layout.h"
#include "util/error.h"

namespace raddiag::pacs {
namespace {

std::string peer_name(const DimseOptions& o) {
  return o.called_aet + "@" + o.host + ":" + std::to_string(o.port);
}

void configure(DcmSCU& scu, const DimseOptions& o) {
  scu.setAETitle(o.calling_aet.c_str());
  scu.setPeerAETitle(o.called_aet.c_str());
  scu.setPeerHostName(o.host.c_str());
  scu.setPeerPort(static_cast<Uint16>(o.port));
  scu.setConnectionTimeout(o.connect_timeout_s);
  scu.setACSETimeout(static_cast<Uint32>(o.acse_timeout_s));
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scu.setDIMSETimeout(static_cast<Uint32>(o.dimse_timeout_s));
}

// The reason an association failed, in words a user can act on.
std::string association_failure(const OFCondition& cond, const DimseOptions& o) {
  std::string text = cond.text();
  std::string why;
  if (cond == DUL_ASSOCIATIONREJECTED)
    why = "association rejected by the peer (check the called AE title '" + o.called_aet + "' and that the peer knows '" +
          o.calling_aet + "')";
  else if (cond == NET_EC_NoAcceptablePresentationContexts)
    why = "the peer accepted none of the proposed SOP classes / transfer syntaxes";
  else if (cond == DUL_PEERABORTEDASSOCIATION || cond == DUL_PEERREQUESTEDRELEASE)
    why = "the peer closed the association";
  else
    why = "association failed (peer not listening, closed the connection or did not answer within the timeouts)";
  return why + ": " + text;
}

class CollectingStorageSCU : public DcmStorageSCU {
 public:
  std::map<std::string, std::pair<bool, int>> outcome;  // file -> (sent, status)

 protected:
  void notifySOPInstanceSent(const TransferEntry& e) override {
    outcome[std::string(e.Filename.getCharPointer())] = {e.RequestSent == OFTrue, e.RequestSent ? e.ResponseStatusCode : -1};
  }
};

}  // namespace

bool is_valid_ae_title(const std::string& aet) {
  if (aet.empty() || aet.size() > 16) return false;
  bool any = false;
  for (char c : aet) {
    if (c == '\\' || static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) return false;
    if (c != ' ') any = true;
  }
  return any;
}

void validate_dimse_options(DimseOptions& o) {
  if (o.host.empty()) throw Error("DIMSE", "no host given");
  if (o.port < 1 || o.port > 65535) throw Error("DIMSE", "port " + std::to_string(o.port) + " is not in 1-65535");
  if (!is_valid_ae_title(o.calling_aet)) throw Error("DIMSE", "calling AE title '" + o.calling_aet + "' is not valid (1-16 characters, no backslash)");
  if (!is_valid_ae_title(o.called_aet)) throw Error("DIMSE", "called AE title '" + o.called_aet + "' is not valid (1-16 characters, no backslash)");
  auto clamp = [](int v) { return std::max(1, std::min(v, 3600)); };
  o.connect_timeout_s = clamp(o.connect_timeout_s);
  o.acse_timeout_s = clamp(o.acse_timeout_s);
  o.dimse_timeout_s = clamp(o.dimse_timeout_s);
}

void dimse_echo(const DimseOptions& options) {
  DimseOptions o = options;
  validate_dimse_options(o);
  DcmSCU scu;
  configure(scu, o);
  OFList<OFString> ts;
  ts.push_back(UID_LittleEndianExplicitTransferSyntax);
  ts.push_back(UID_LittleEndianImplicitTransferSyntax);
  scu.addPresentationContext(UID_VerificationSOPClass, ts);
  OFCondition cond = scu.initNetwork();
  if (cond.bad()) throw Error(peer_name(o), std::string("cannot initialise the network: ") + cond.text());
  cond = scu.negotiateAssociation();
  if (cond.bad()) throw Error(peer_name(o), association_failure(cond, o));
  T_ASC_PresentationContextID pc = scu.findPresentationContextID(UID_VerificationSOPClass, "");
  if (pc == 0) {
    scu.releaseAssociation();
    throw Error(peer_name(o), "the peer does not accept the Verification SOP class (C-ECHO)");
  }
  cond = scu.sendECHORequest(pc);
  if (cond.bad()) {
    scu.abortAssociation();
    throw Error(peer_name(o), std::string("C-ECHO failed: ") + cond.text());
  }
  scu.releaseAssociation();
}

void set_dcmtk_logging(bool verbose) {
  OFLog::configure(verbose ? OFLogger::INFO_LOG_LEVEL : OFLogger::WARN_LOG_LEVEL);
}

std::string dimse_store_status_text(int s) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "%04X", s < 0 ? 0u : static_cast<unsigned>(s & 0xFFFF));
  std::string h = s < 0 ? "----" : hex;
  if (s < 0) return h + " no response";
  if (s == 0) return h + " success";
  if (s == 0xB000 || s == 0xB006 || s == 0xB007) return h + " warning (stored)";
  if ((s & 0xFF00) == 0xA700) return h + " refused: out of resources";
  if ((s & 0xFF00) == 0xA900) return h + " error: data set does not match SOP class";
  if ((s & 0xF000) == 0xC000) return h + " error: cannot understand";
  if (s == 0x0122) return h + " refused: SOP class not supported";
  if (s == 0x0124) return h + " refused: not authorized";
  if (s == 0x0110) return h + " processing failure";
  return h + " failure";
}

std::vector<StoreFileResult> dimse_store(const DimseOptions& options, const std::vector<std::string>& files) {
  DimseOptions o = options;
  validate_dimse_options(o);
  std::vector<StoreFileResult> results;
  CollectingStorageSCU scu;
  configure(scu, o);
  scu.setHaltOnUnsuccessfulStoreMode(OFFalse);
  scu.setDecompressionMode(DcmStorageSCU::DM_never);
  for (const auto& f : files) {
    StoreFileResult r;
    r.file = f;
    OFCondition cond = scu.addDicomFile(f.c_str(), ERM_fileOnly, OFFalse);
    if (cond.bad()) {
      r.message = std::string("not sent: ") + cond.text();
    } else {
      try {
        r.sop_instance = read_instance_uids(f).sop_instance;
      } catch (const Error&) {
      }
    }
    results.push_back(r);
  }
  if (scu.getNumberOfSOPInstances() == 0) return results;
  OFCondition cond = scu.addPresentationContexts();
  if (cond.bad()) throw Error(peer_name(o), std::string("cannot propose presentation contexts: ") + cond.text());
  cond = scu.initNetwork();
  if (cond.bad()) throw Error(peer_name(o), std::string("cannot initialise the network: ") + cond.text());
  // More than 128 SOP class / transfer syntax pairs need several associations (DcmStorageSCU splits them).
  for (int round = 0; scu.getNumberOfSOPInstancesToBeSent() > 0 && round < 1000; ++round) {
    cond = scu.negotiateAssociation();
    if (cond == NET_EC_NoPresentationContextsDefined) break;
    if (cond.bad()) throw Error(peer_name(o), association_failure(cond, o));
    cond = scu.sendSOPInstances();
    if (cond.bad()) {
      scu.abortAssociation();
      std::string sent;
      for (const auto& [file, st] : scu.outcome) if (st.first) sent += "\n  sent before the failure: " + file + " (" + dimse_store_status_text(st.second) + ")";
      throw Error(peer_name(o), std::string("C-STORE failed (association lost?): ") + cond.text() + sent);
    }
    scu.releaseAssociation();
  }
  for (auto& r : results) {
    if (!r.message.empty()) continue;
    auto it = scu.outcome.find(r.file);
    if (it == scu.outcome.end()) {
      r.message = "not sent: the peer accepted no presentation context for this SOP class / transfer syntax";
      continue;
    }
    r.sent = it->second.first;
    r.status = it->second.second;
    r.message = r.sent ? dimse_store_status_text(r.status) : "not sent: no accepted presentation context";
  }
  return results;
}

}  // namespace raddiag::pacs
