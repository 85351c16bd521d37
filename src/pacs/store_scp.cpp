#include "pacs/store_scp.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/scp.h>

#include <filesystem>
#include <system_error>

#include "pacs/dimse_scu.h"
#include "pacs/study_layout.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace raddiag::pacs {
namespace fs = std::filesystem;
namespace {

constexpr Uint16 kRefusedOutOfResources = 0xA700;
constexpr Uint16 kCannotUnderstand = 0xC000;
constexpr Uint16 kDataSetDoesNotMatch = 0xA900;

class StoreScp : public DcmSCP {
 public:
  StoreScp(const StoreScpOptions& o, const std::atomic<bool>& stop, const std::function<void(const std::string&)>& on_stored,
           std::string incoming)
      : o_(o), stop_(stop), on_stored_(on_stored), incoming_(std::move(incoming)) {}
  ScpSummary summary;

 protected:
  OFCondition handleIncomingCommand(T_DIMSE_Message* msg, const DcmPresentationContextInfo& info) override {
    if (msg->CommandField != DIMSE_C_STORE_RQ) return DcmSCP::handleIncomingCommand(msg, info);
    T_DIMSE_C_StoreRQ& req = msg->msg.CStoreRQ;
    // Our own temporary name: nothing the sender says becomes a path.
    std::string tmp = (fs::path(incoming_) / ("instance-" + std::to_string(++counter_) + ".part")).string();
    OFCondition cond = receiveSTORERequest(req, info.presentationContextID, OFString(tmp.c_str()));
    if (cond.bad()) {
      remove_tree(tmp);
      return cond;  // the association is gone or broken; DcmSCP ends it
    }
    std::error_code ec;
    uint64_t size = fs::file_size(tmp, ec);
    Uint16 status = STATUS_Success;
    if (ec) {
      status = kRefusedOutOfResources;
    } else if (size > o_.max_object_bytes || association_bytes_ + size > o_.max_association_bytes) {
      status = kRefusedOutOfResources;
    } else {
      association_bytes_ += size;
      try {
        InstanceUids u = read_instance_uids(tmp);
        if (u.sop_instance != req.AffectedSOPInstanceUID || u.sop_class != req.AffectedSOPClassUID) {
          status = kDataSetDoesNotMatch;
        } else {
          std::string dest = place_instance(tmp, o_.out_dir, u);
          ++summary.stored;
          summary.bytes += size;
          if (on_stored_) on_stored_(dest);
        }
      } catch (const std::exception&) {
        status = kCannotUnderstand;
      }
    }
    if (status != STATUS_Success) {
      remove_tree(tmp);
      ++summary.refused;
    }
    return sendSTOREResponse(info.presentationContextID, req, status);
  }

  OFBool checkCalledAETitleAccepted(const OFString& called) override {
    // AE titles are space-padded on the wire; leading and trailing spaces are not significant.
    std::string c(called.c_str());
    size_t b = c.find_first_not_of(' '), e = c.find_last_not_of(' ');
    return b != std::string::npos && c.substr(b, e - b + 1) == o_.aet;
  }
  // Only acknowledged associations count (a port probe or a rejected caller is no association served).
  void notifyAssociationAcknowledge() override {
    association_bytes_ = 0;
    ++summary.associations;
  }
  OFBool stopAfterCurrentAssociation() override {
    return stop_.load() || (o_.max_associations > 0 && summary.associations >= static_cast<size_t>(o_.max_associations));
  }
  OFBool stopAfterConnectionTimeout() override { return stop_.load(); }

 private:
  const StoreScpOptions& o_;
  const std::atomic<bool>& stop_;
  const std::function<void(const std::string&)>& on_stored_;
  std::string incoming_;
  uint64_t counter_ = 0;
  uint64_t association_bytes_ = 0;
};

}  // namespace

ScpSummary run_store_scp(const StoreScpOptions& options, const std::atomic<bool>& stop,
                         const std::function<void(const std::string&)>& on_stored) {
  if (!is_valid_ae_title(options.aet)) throw Error("dicom listen", "AE title '" + options.aet + "' is not valid");
  if (options.port < 1 || options.port > 65535) throw Error("dicom listen", "port " + std::to_string(options.port) + " is not in 1-65535");
  if (options.out_dir.empty()) throw Error("dicom listen", "no output folder");
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  if (ec) throw Error(options.out_dir, "cannot create the output folder: " + ec.message());
  std::string incoming = (fs::path(options.out_dir) / ".raddiag-incoming").string();
  remove_tree(incoming);  // left from a killed run: never complete instances
  fs::create_directories(incoming, ec);
  if (ec) throw Error(incoming, "cannot create folder: " + ec.message());

  StoreScp scp(options, stop, on_stored, incoming);
  DcmSCPConfig& cfg = scp.getConfig();
  cfg.setAETitle(options.aet.c_str());
  cfg.setPort(static_cast<Uint16>(options.port));
  cfg.setACSETimeout(static_cast<Uint32>(std::max(1, options.acse_timeout_s)));
  cfg.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  cfg.setDIMSETimeout(static_cast<Uint32>(std::max(1, options.dimse_timeout_s)));
  // Wake up every second between associations to look at `stop`.
  cfg.setConnectionBlockingMode(DUL_NOBLOCK);
  cfg.setConnectionTimeout(1);
  cfg.setHostLookupEnabled(OFFalse);

  // Stored as received: the transfer syntaxes a PACS commonly sends, uncompressed first.
  OFList<OFString> ts;
  for (const char* uid : {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax,
                          UID_BigEndianExplicitTransferSyntax, UID_DeflatedExplicitVRLittleEndianTransferSyntax,
                          UID_JPEGProcess1TransferSyntax, UID_JPEGProcess2_4TransferSyntax, UID_JPEGProcess14TransferSyntax,
                          UID_JPEGProcess14SV1TransferSyntax, UID_JPEGLSLosslessTransferSyntax, UID_JPEGLSLossyTransferSyntax,
                          UID_JPEG2000LosslessOnlyTransferSyntax, UID_JPEG2000TransferSyntax, UID_RLELosslessTransferSyntax})
    ts.push_back(uid);
  // DcmSCP takes at most 128 presentation contexts per profile, so not all ~190 storage SOP classes fit:
  // DCMTK's list of the 120 an SCU proposes in one association (CT, MR, SR, Secondary Capture, ... all
  // images and reports in use) plus Verification.
  OFList<OFString> echo_ts;
  echo_ts.push_back(UID_LittleEndianImplicitTransferSyntax);
  echo_ts.push_back(UID_LittleEndianExplicitTransferSyntax);
  OFCondition added = scp.addPresentationContext(UID_VerificationSOPClass, echo_ts);
  for (int i = 0; added.good() && i < numberOfDcmLongSCUStorageSOPClassUIDs; ++i)
    added = scp.addPresentationContext(dcmLongSCUStorageSOPClassUIDs[i], ts);
  if (added.bad()) throw Error("dicom listen", std::string("cannot configure the accepted SOP classes: ") + added.text());

  OFCondition cond = scp.listen();
  remove_tree(incoming);
  if (cond.bad() && cond != NET_EC_StopAfterAssociation && cond != NET_EC_StopAfterConnectionTimeout)
    throw Error("dicom listen on port " + std::to_string(options.port), std::string("listening failed: ") + cond.text());
  return scp.summary;
}

}  // namespace raddiag::pacs
