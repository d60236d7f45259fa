-- Declaration of order_model: GET /rest/v2/orders/model -> keap.custom_fields (model 'orders'), the
-- definitions of the order custom fields whose values are in keap.order_custom_fields. Like
-- contact_model: every page is a complete listing (snapshot), scoped to model 'orders', so fields it
-- no longer lists get _deleted_at. keap_meta.declare_custom_field_model (010) declares it
-- and keap_meta.generate_merge writes keap.merge_order_model from this.

select keap_meta.declare_custom_field_model('order_model', 'orders');
