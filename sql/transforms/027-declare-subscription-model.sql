-- Declaration of subscription_model: GET /rest/v2/subscriptions/model -> keap.custom_fields (model 'subscriptions'), the
-- definitions of the subscription custom fields whose values are in keap.subscription_custom_fields. Like
-- contact_model: every page is a complete listing (snapshot), scoped to model 'subscriptions', so fields it
-- no longer lists get _deleted_at. keap_meta.declare_custom_field_model (010) declares it
-- and keap_meta.generate_merge writes keap.merge_subscription_model from this.

select keap_meta.declare_custom_field_model('subscription_model', 'subscriptions');
