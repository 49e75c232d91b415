-- The address a merchant's customers write to with questions, shown on every email the service
-- sends them (receipts, refund notices); null: the emails name the merchant without an address.
ALTER TABLE "merchant_settings" ADD COLUMN "support_email" TEXT;
